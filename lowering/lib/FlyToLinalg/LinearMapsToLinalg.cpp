//===- LinearMapsToLinalg.cpp - fly linear maps to linalg -------*- C++ -*-===//
//
// Each linear map is computed on x collapsed to a matrix [M, n] in f32, then
// reshaped back and cast to the op's element type. The structure is kept:
// nothing is densified, so the lowered code does the op's real FLOPs.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToLinalg/FlyToLinalg.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"
#include "fly/Utils/LinalgBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::fly;
using namespace mlir::fly::detail;

namespace {
int64_t dim(Value v, int64_t i) {
  return cast<RankedTensorType>(v.getType()).getDimSize(i);
}

Value addBias(LinalgBuilder &lb, Value y, Value bias) {
  return lb.generic("mi,i->mi", {y, bias}, y,
                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                      return arith::AddFOp::create(b, l, a[0], a[1]);
                    });
}

/// x[M, n], w[m, n], bias?[m] -> [M, m]. Contractions are written as named
/// linalg.matmul / batch_matmul ops with their weights transposed into the
/// [K, N] layout, the form the CPU schedule tiles; a transpose of a constant
/// weight is folded at compile time (fly-fold-weight-transposes).
Value lowerLinear(LinalgBuilder &lb, LinearOp, Value x, ValueRange w) {
  Value y = lb.matmul(x, lb.transpose(w[0], {1, 0}));
  return w.size() > 1 ? addBias(lb, y, w[1]) : y;
}

/// Two block-diagonal stages as batched GEMMs over the blocks; the
/// permutation between them is a reshape of h [M, k*q] to [M, r, l] read
/// with swapped indices.
Value lowerMonarch(LinalgBuilder &lb, MonarchMatmulOp, Value x, ValueRange w) {
  Value w1 = w[0], w2 = w[1];
  int64_t rows = dim(x, 0), k = dim(w1, 0), p = dim(w1, 2);
  int64_t l = dim(w2, 0), s = dim(w2, 1), r = dim(w2, 2);
  // Stage 1, per block kk: h[kk] = x[:, kk] * w1[kk]^T.
  Value xBlocks = lb.transpose(lb.reshape(x, {rows, k, p}), {1, 0, 2});
  Value h = lb.batchMatmul(xBlocks, lb.transpose(w1, {0, 2, 1})); // [k,M,q]
  // h[b, rr*l + ll] = g[b, rr, ll]; stage 2 runs per ll.
  Value g = lb.reshape(lb.transpose(h, {1, 0, 2}), {rows, r, l});
  Value y = lb.batchMatmul(lb.transpose(g, {2, 0, 1}),
                           lb.transpose(w2, {0, 2, 1}));        // [l, M, s]
  return lb.reshape(lb.transpose(y, {1, 2, 0}), {rows, s * l}); // y[b, ss*l+ll]
}

/// (x * u^T) * v^T.
Value lowerLowRank(LinalgBuilder &lb, LowRankMatmulOp, Value x, ValueRange w) {
  Value t = lb.matmul(x, lb.transpose(w[0], {1, 0}));
  return lb.matmul(t, lb.transpose(w[1], {1, 0}));
}

/// One small GEMM per stored block, accumulated per block row; the block
/// coordinates are compile-time attributes, so the loop is unrolled here.
Value lowerBlockSparse(LinalgBuilder &lb, BlockSparseMatmulOp op, Value x,
                       ValueRange w) {
  OpBuilder &b = lb.builder();
  Location loc = lb.location();
  Value blocks = w[0];
  int64_t rows = dim(x, 0), n = dim(x, 1), bs = dim(blocks, 1);
  int64_t m = op.getY().getType().getShape().back();
  Value x3 = lb.reshape(x, {rows, n / bs, bs});
  Value out = lb.filled({rows, m / bs, bs}, 0.0);
  ArrayRef<int64_t> blockRows = op.getRows(), blockCols = op.getCols();
  auto f32 = b.getF32Type();
  for (int64_t row = 0; row < m / bs; ++row) {
    Value acc;
    for (int64_t e = 0, nnz = blockRows.size(); e < nnz; ++e) {
      if (blockRows[e] != row)
        continue;
      // x3[:, cols[e], :] as [M, b] and blocks[e] as [b, b].
      Value xe = tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get({rows, bs}, f32), x3, ValueRange{},
          ValueRange{}, ValueRange{},
          b.getDenseI64ArrayAttr({0, blockCols[e], 0}),
          b.getDenseI64ArrayAttr({rows, 1, bs}),
          b.getDenseI64ArrayAttr({1, 1, 1}));
      Value be = tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get({bs, bs}, f32), blocks, ValueRange{},
          ValueRange{}, ValueRange{}, b.getDenseI64ArrayAttr({e, 0, 0}),
          b.getDenseI64ArrayAttr({1, bs, bs}),
          b.getDenseI64ArrayAttr({1, 1, 1}));
      acc = lb.einsum("mj,ij->mi", xe, be, acc);
    }
    if (!acc)
      continue; // an empty block row stays zero
    out = tensor::InsertSliceOp::create(b, loc, acc, out, ValueRange{},
                                        ValueRange{}, ValueRange{},
                                        b.getDenseI64ArrayAttr({0, row, 0}),
                                        b.getDenseI64ArrayAttr({rows, 1, bs}),
                                        b.getDenseI64ArrayAttr({1, 1, 1}));
  }
  return lb.reshape(out, {rows, m});
}

/// Factor i views z [M, n] as [M, G, 2, 2^i]: pair (a, a + 2^i) is
/// (g, 0, o), (g, 1, o), and twiddle[i] as [G, 2^i, 2, 2].
Value lowerButterfly(LinalgBuilder &lb, ButterflyMatmulOp, Value x,
                     ValueRange w) {
  OpBuilder &b = lb.builder();
  Location loc = lb.location();
  Value twiddle = w[0];
  int64_t rows = dim(x, 0), n = dim(x, 1), levels = dim(twiddle, 0);
  auto f32 = b.getF32Type();
  Value z = x;
  for (int64_t i = 0; i < levels; ++i) {
    int64_t stride = int64_t(1) << i, groups = n / (2 * stride);
    Value ti = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({n / 2, 2, 2}, f32), twiddle,
        ValueRange{}, ValueRange{}, ValueRange{},
        b.getDenseI64ArrayAttr({i, 0, 0, 0}),
        b.getDenseI64ArrayAttr({1, n / 2, 2, 2}),
        b.getDenseI64ArrayAttr({1, 1, 1, 1}));
    Value t4 = lb.reshape(ti, {groups, stride, 2, 2});
    Value z4 = lb.reshape(z, {rows, groups, 2, stride});
    Value out = lb.einsum("mgvo,gouv->mguo", z4, t4);
    z = lb.reshape(out, {rows, n});
  }
  return z;
}

/// SS1: a gather generic builds the sketched input per output column block,
/// then one batched contraction with w viewed as [K/R, N/BN, BN].
Value lowerSketch(LinalgBuilder &lb, SketchMatmulOp op, Value x, ValueRange w) {
  Value weight = w[0];
  int64_t rows = dim(x, 0), kr = dim(weight, 0), nCols = dim(weight, 1);
  int64_t r = op.getReduction(), bk = op.getBlockK(), bn = op.getBlockN(),
          vec = op.getVec();
  if (r == 1)
    return lb.einsum("mk,kn->mn", x, weight);
  ArrayRef<int64_t> seeds = op.getSeeds();
  int64_t nb = nCols / bn;
  Value init = lb.empty({rows, nb, kr});
  Value sketched = lb.generic(
      "->mnj", {}, init, [&](OpBuilder &b, Location l, ValueRange) -> Value {
        auto cst = [&](int64_t v) -> Value {
          return arith::ConstantIndexOp::create(b, l, v);
        };
        auto add = [&](Value a, Value c) -> Value {
          return arith::AddIOp::create(b, l, a, c);
        };
        auto mul = [&](Value a, int64_t c) -> Value {
          return arith::MulIOp::create(b, l, a, cst(c));
        };
        Value mIdx = lb.loopIndex(b, l, 0), nIdx = lb.loopIndex(b, l, 1),
              jIdx = lb.loopIndex(b, l, 2);
        Value kb = arith::DivUIOp::create(b, l, jIdx, cst(bk));
        Value j = arith::RemUIOp::create(b, l, jIdx, cst(bk));
        // r3 + r2*nb + r1*(kb+1): the part of the shift shared by all c.
        Value base = add(add(cst(seeds[3]), mul(nIdx, seeds[2])),
                         mul(add(kb, cst(1)), seeds[1]));
        Value sum = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0));
        for (int64_t c = 0; c < r; ++c) {
          Value shift = mul(add(base, cst(seeds[0] * (c + 1))), vec);
          Value within = arith::RemUIOp::create(b, l, add(j, shift), cst(bk));
          Value col = add(mul(add(mul(kb, r), cst(c)), bk), within);
          Value elem =
              tensor::ExtractOp::create(b, l, x, ValueRange{mIdx, col});
          sum = arith::AddFOp::create(b, l, sum, elem);
        }
        return sum;
      });
  Value w3 = lb.reshape(weight, {kr, nb, bn});
  Value y = lb.einsum("mnj,jnt->mnt", sketched, w3);
  return lb.reshape(y, {rows, nCols});
}

/// Shared shell: cast to f32, collapse batch dims, compute, restore.
template <typename OpTy> struct LinearMapLowering : OpRewritePattern<OpTy> {
  using ComputeFn = Value (*)(LinalgBuilder &, OpTy, Value, ValueRange);
  LinearMapLowering(MLIRContext *ctx, ComputeFn compute)
      : OpRewritePattern<OpTy>(ctx), compute(compute) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    LinalgBuilder lb(rewriter, op.getLoc());
    auto resultType = cast<RankedTensorType>(op.getType());
    Type f32 = rewriter.getF32Type();
    SmallVector<Value> operands;
    for (Value v : op->getOperands())
      operands.push_back(lb.castElements(v, f32));
    Value x = lb.collapseToMatrix(operands.front());
    Value y = compute(lb, op, x, ArrayRef<Value>(operands).drop_front());
    y = lb.reshape(y, resultType.getShape());
    rewriter.replaceOp(op, lb.castElements(y, resultType.getElementType()));
    return success();
  }

  ComputeFn compute;
};
} // namespace

void mlir::fly::populateFlyLinearMapToLinalgPatterns(
    RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LinearMapLowering<LinearOp>>(ctx, lowerLinear);
  patterns.add<LinearMapLowering<MonarchMatmulOp>>(ctx, lowerMonarch);
  patterns.add<LinearMapLowering<LowRankMatmulOp>>(ctx, lowerLowRank);
  patterns.add<LinearMapLowering<BlockSparseMatmulOp>>(ctx, lowerBlockSparse);
  patterns.add<LinearMapLowering<ButterflyMatmulOp>>(ctx, lowerButterfly);
  patterns.add<LinearMapLowering<SketchMatmulOp>>(ctx, lowerSketch);
}

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
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Sequence.h"

#include <algorithm>

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
/// A constant i64 vector (a lookup table inside a generic's body).
Value indexTable(LinalgBuilder &lb, ArrayRef<int64_t> values) {
  OpBuilder &b = lb.builder();
  auto type = RankedTensorType::get({int64_t(values.size())}, b.getI64Type());
  return arith::ConstantOp::create(b, lb.location(),
                                   DenseElementsAttr::get(type, values));
}

/// y[:, row block r] = sum over kept blocks e of row r of
/// x[:, column block cols[e]] * blocks[e]^T, as three generics whatever the
/// number of blocks: gather the input blocks through a table of columns,
/// one batched product over the blocks, then a sum per block row through
/// tables of each row's first entry and entry count. (Unrolling one matmul
/// per block made Pixelfly MLPs thousands of ops: minutes to compile.)
Value lowerBlockSparse(LinalgBuilder &lb, BlockSparseMatmulOp op, Value x,
                       ValueRange w) {
  Value blocks = w[0];
  int64_t rows = dim(x, 0), n = dim(x, 1), bs = dim(blocks, 1);
  int64_t m = op.getY().getType().getShape().back(), blockRows = m / bs;
  ArrayRef<int64_t> blockRow = op.getRows(), blockCol = op.getCols();
  int64_t nnz = blockRow.size();
  if (nnz == 0)
    return lb.filled({rows, m}, 0.0);

  // Entries grouped by row (stable): order[k] is the k-th entry.
  SmallVector<int64_t> order(nnz), cols(nnz), first(blockRows, 0),
      count(blockRows, 0);
  for (int64_t e = 0; e < nnz; ++e)
    order[e] = e;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) {
    return blockRow[a] < blockRow[c];
  });
  for (int64_t k = nnz - 1; k >= 0; --k) {
    cols[k] = blockCol[order[k]];
    first[blockRow[order[k]]] = k;
    ++count[blockRow[order[k]]];
  }
  int64_t maxCount = *std::max_element(count.begin(), count.end());
  bool inOrder = llvm::equal(order, llvm::seq<int64_t>(0, nnz));

  auto index = [&](OpBuilder &nb, Location l, Value v) -> Value {
    return arith::IndexCastOp::create(nb, l, nb.getIndexType(), v);
  };
  // xg[r, k, j] = x[r, cols[k]*bs + j].
  Value x3 = lb.reshape(x, {rows, n / bs, bs});
  Value xg =
      lb.generic("k->rkj", {indexTable(lb, cols)}, lb.empty({rows, nnz, bs}),
                 [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                   return tensor::ExtractOp::create(
                       nb, l, x3,
                       ValueRange{lb.loopIndex(nb, l, 0), index(nb, l, a[0]),
                                  lb.loopIndex(nb, l, 2)});
                 });
  // The blocks in the same order.
  if (!inOrder)
    blocks =
        lb.generic("k->kij", {indexTable(lb, order)}, lb.empty({nnz, bs, bs}),
                   [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     return tensor::ExtractOp::create(
                         nb, l, blocks,
                         ValueRange{index(nb, l, a[0]), lb.loopIndex(nb, l, 1),
                                    lb.loopIndex(nb, l, 2)});
                   });
  Value products = lb.einsum("rkj,kij->rki", xg, blocks);
  // out[r, R, i] = sum over s < count[R] of products[r, first[R] + s, i].
  Value out = lb.generic(
      "q,q,s->rqi",
      {indexTable(lb, first), indexTable(lb, count),
       lb.filled({maxCount}, 0.0)},
      lb.filled({rows, blockRows, bs}, 0.0),
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value s = lb.loopIndex(nb, l, 3);
        Value inRow = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, s,
                                            index(nb, l, a[1]));
        // Clamped for the entries past the row's count (their value is
        // dropped): the read stays inside the products.
        Value entry = arith::SelectOp::create(
            nb, l, inRow, arith::AddIOp::create(nb, l, index(nb, l, a[0]), s),
            index(nb, l, a[0]));
        Value value = tensor::ExtractOp::create(
            nb, l, products,
            ValueRange{lb.loopIndex(nb, l, 0), entry, lb.loopIndex(nb, l, 2)});
        Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0.0));
        return arith::AddFOp::create(
            nb, l, a[3], arith::SelectOp::create(nb, l, inRow, value, zero));
      });
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

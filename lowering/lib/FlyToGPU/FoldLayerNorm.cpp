//===- FoldLayerNorm.cpp - A LayerNorm folded into the GEMM it feeds ------===//
//
// LayerNorm(x) W^T + b, per row i and output n:
//
//   sum_k W[n,k] (gamma[k] (x[i,k] - mean_i) rstd_i + beta[k]) + b[n]
//     = rstd_i (sum_k W'[n,k] x[i,k] - mean_i colsum[n]) + b'[n]
//
// with W' = W diag(gamma), colsum[n] = sum_k W'[n,k], b' = b + W beta. The
// GEMM then reads x itself (the LayerNorm's write of the normalised
// activation, and the GEMM's read of it, disappear) and only needs the two
// statistics of each row, which a small kernel computes
// (LayerNormSpec::statsOnly: it reads x once and writes 8 bytes per row).
// Computing them inside the GEMM from the tiles of x it loads anyway was
// measured slower (docs/benchmarks.md): each of the n / 128 CTAs of a row
// block redid them between its wgmma batches.
//
// colsum is taken over the rounded W' (the weights the GEMM multiplies), so
// that a row of constant x gives exactly b'. Precision: the GEMM adds
// products of 16-bit values in f32 and subtracts mean_i colsum[n] before
// scaling; where |mean_i| is large against the row's standard deviation
// that subtraction cancels, so the result's error grows with |mean_i| /
// std_i (the device checks of GPT-2 d 256 against HF are unchanged).
//
//===----------------------------------------------------------------------===//

#include "KernelCalls.h"
#include "LayerNormMatch.h"

#include "fly/Conversion/FlyToGPU/WgmmaGemm.h"
#include "fly/Conversion/Passes.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"
#include "fly/Utils/WeightConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <vector>

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPUFOLDLAYERNORM
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {

using mlir::fly::kernels::LayerNormMatch;

struct FlyGpuFoldLayerNormPass
    : mlir::fly::impl::FlyGpuFoldLayerNormBase<FlyGpuFoldLayerNormPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<mlir::fly::LinearOp> linears;
    getOperation().walk([&](mlir::fly::LinearOp op) { linears.push_back(op); });
    for (mlir::fly::LinearOp op : linears)
      fold(op);
  }

  void skip(mlir::fly::LinearOp op, const Twine &why) {
    if (remarks)
      op.emitRemark("LayerNorm not folded: ") << why;
  }

  void fold(mlir::fly::LinearOp op) {
    auto y = op.getX().getDefiningOp<linalg::GenericOp>();
    if (!y)
      return;
    std::optional<LayerNormMatch> ln = mlir::fly::kernels::matchLayerNorm(y);
    if (!ln)
      return;
    if (!y->getResult(0).hasOneUse())
      return skip(op, "the LayerNorm's output has other users");
    auto xType = cast<RankedTensorType>(ln->x.getType());
    auto wType = cast<RankedTensorType>(op.getW().getType());
    Type element = xType.getElementType();
    if (xType != op.getX().getType() || (!element.isF16() && !element.isBF16()))
      return skip(op, "needs x and the LayerNorm output in one 16-bit type");
    DenseResourceElementsAttr w = mlir::fly::weightResource(op.getW());
    DenseResourceElementsAttr gamma = mlir::fly::weightResource(ln->gamma);
    DenseResourceElementsAttr beta = mlir::fly::weightResource(ln->beta);
    DenseResourceElementsAttr bias =
        op.getBias() ? mlir::fly::weightResource(op.getBias())
                     : DenseResourceElementsAttr();
    if (!w || !gamma || !beta || (op.getBias() && !bias))
      return skip(op, "W, gamma, beta and the bias must be constants");
    if (wType.getElementType() != element)
      return skip(op, "mixed element types");
    // A tied weight (GPT-2's LM head shares the token embedding) would be
    // stored twice: once scaled for the fold, once for its other users.
    if (!op.getW().hasOneUse())
      return skip(op, "the weight has other users (a tied weight would be "
                      "stored twice)");

    ::fly::gpu::GemmSpec spec;
    spec.m = xType.getDimSize(0);
    spec.k = xType.getDimSize(1);
    spec.n = wType.getDimSize(0);
    spec.elementType = element.isF16() ? "f16" : "bf16";
    spec.epilogue = ::fly::gpu::GemmEpilogue::Bias;
    spec.layerNormInput = true;
    spec.layerNormEps = ln->eps;
    spec.tileN = ::fly::gpu::defaultGemmTileN(spec.n);
    if (std::string why = ::fly::gpu::verifyGemmSpec(spec); !why.empty())
      return skip(op, "the GEMM kernel would not take it: " + why);
    if (std::string why = mlir::fly::kernels::verifyRowStatistics(xType);
        !why.empty())
      return skip(op, "no row-statistics kernel: " + why);

    int64_t n = spec.n, k = spec.k;
    std::vector<double> wv = mlir::fly::weightValues(w);
    std::vector<double> gv = mlir::fly::weightValues(gamma);
    std::vector<double> bv = mlir::fly::weightValues(beta);
    std::vector<double> biasv =
        bias ? mlir::fly::weightValues(bias) : std::vector<double>(n, 0.0);
    if (int64_t(wv.size()) != n * k || int64_t(gv.size()) != k ||
        int64_t(bv.size()) != k || int64_t(biasv.size()) != n)
      return skip(op, "unexpected weight shapes or element types");

    std::vector<double> scaled(n * k), newBias(n), colsum(n);
    for (int64_t i = 0; i < n; ++i) {
      double shift = biasv[i];
      for (int64_t j = 0; j < k; ++j) {
        scaled[i * k + j] = wv[i * k + j] * gv[j];
        shift += wv[i * k + j] * bv[j];
      }
      newBias[i] = shift;
    }
    StringRef key = w.getRawHandle().getKey();
    auto biasType = RankedTensorType::get({n}, element);
    DenseResourceElementsAttr scaledAttr =
        mlir::fly::weightFromValues(wType, (key + ".ln_scaled").str(), scaled);
    DenseResourceElementsAttr biasAttr = mlir::fly::weightFromValues(
        biasType, (key + ".ln_bias").str(), newBias);
    // The column sums of the weights as stored (rounded), in f32.
    std::vector<double> rounded = mlir::fly::weightValues(scaledAttr);
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < k; ++j)
        sum += rounded[i * k + j];
      colsum[i] = sum;
    }
    OpBuilder b(op);
    auto colsumType = RankedTensorType::get({n}, b.getF32Type());
    DenseResourceElementsAttr colsumAttr = mlir::fly::weightFromValues(
        colsumType, (key + ".ln_colsum").str(), colsum);
    if (!scaledAttr || !biasAttr || !colsumAttr)
      return skip(op, "could not build the folded weights");

    Location loc = op.getLoc();
    Value wNew = arith::ConstantOp::create(b, loc, scaledAttr);
    Value biasNew = arith::ConstantOp::create(b, loc, biasAttr);
    Value colsumNew = arith::ConstantOp::create(b, loc, colsumAttr);
    auto outType = cast<RankedTensorType>(op.getType());
    auto product =
        mlir::fly::LinearOp::create(b, loc, outType, ln->x, wNew, Value());
    product->setDiscardableAttrs(op->getDiscardableAttrDictionary());

    MLIRContext *ctx = &getContext();
    AffineMap all = AffineMap::getMultiDimIdentityMap(2, ctx);
    AffineMap rows = AffineMap::get(2, 0, getAffineDimExpr(0, ctx));
    AffineMap cols = AffineMap::get(2, 0, getAffineDimExpr(1, ctx));
    Value init = tensor::EmptyOp::create(b, loc, outType.getShape(), element);
    auto epilogue = linalg::GenericOp::create(
        b, loc, TypeRange{outType},
        ValueRange{product.getResult(), ln->mean, ln->rstd, colsumNew, biasNew},
        ValueRange{init}, ArrayRef<AffineMap>{all, rows, rows, cols, cols, all},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                      utils::IteratorType::parallel},
        [&](OpBuilder &nb, Location l, ValueRange args) {
          auto f32 = [&](Value v) -> Value {
            return v.getType().isF32()
                       ? v
                       : arith::ExtFOp::create(nb, l, nb.getF32Type(), v);
          };
          Value shift = arith::MulFOp::create(nb, l, f32(args[1]), args[3]);
          Value centred = arith::SubFOp::create(nb, l, f32(args[0]), shift);
          Value scaledRow = arith::MulFOp::create(nb, l, centred, f32(args[2]));
          Value out = arith::AddFOp::create(nb, l, scaledRow, f32(args[4]));
          linalg::YieldOp::create(
              nb, l, Value(arith::TruncFOp::create(nb, l, element, out)));
        });
    epilogue->setAttr(mlir::fly::kernels::kLayerNormEpilogueAttr,
                      UnitAttr::get(ctx));
    if (remarks)
      op.emitRemark("LayerNorm folded into the GEMM (eps ") << ln->eps << ")";
    op.getResult().replaceAllUsesWith(epilogue.getResult(0));
    op->erase();
    y->erase();
  }
};

} // namespace

//===- LayerNormKernels.cpp - LayerNorm's generics to one kernel ----------===//
//
// Matches the LayerNorm the importers build (models/common/Layers.cpp) as it
// looks after 16-bit storage conversion, starting from its last generic:
//
//   sum   = generic "mn->m"  (reduce add of x)          [f32]
//   mean  = generic "m->m"   (sum / cols)
//   cent  = generic "mn,m->mn" (x - mean)
//   sq    = generic "mn->m"  (reduce add of cent * cent) [f32]
//   rstd  = generic "m->m"   (rsqrt(sq / cols + eps))
//   y     = generic "mn,m,n,n->mn" (cent * rstd * gamma + beta)
//
// (extf / truncf around every value are skipped), and replaces y by a call
// of the LayerNorm kernel's launcher on x, gamma and beta.
//
//===----------------------------------------------------------------------===//

#include "KernelCalls.h"

#include "fly/Conversion/FlyToGPU/LayerNormKernel.h"
#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <optional>

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPULAYERNORMKERNELS
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
namespace gen = ::fly::gpu;
using mlir::fly::kernels::stripCasts;

namespace {

/// The value `g` yields, casts skipped.
Value yielded(linalg::GenericOp g) {
  auto yield = cast<linalg::YieldOp>(g.getBody()->getTerminator());
  return stripCasts(yield.getValues()[0]);
}

/// Block argument `i` of `g`'s body, if `v` is it (casts skipped).
bool isArg(linalg::GenericOp g, Value v, unsigned i) {
  return stripCasts(v) == g.getBody()->getArgument(i);
}

/// For a commutative binary `op` of `g`'s body with block argument `i` as
/// one operand: the other operand (casts skipped), else null.
template <typename OpT>
Value otherOperand(Value v, linalg::GenericOp g, unsigned i) {
  auto op = stripCasts(v).getDefiningOp<OpT>();
  if (!op)
    return nullptr;
  if (isArg(g, op.getRhs(), i))
    return stripCasts(op.getLhs());
  if (isArg(g, op.getLhs(), i))
    return stripCasts(op.getRhs());
  return nullptr;
}

/// `v` is an f32 arith.constant; returns its value.
std::optional<double> constant(Value v) {
  auto c = stripCasts(v).getDefiningOp<arith::ConstantOp>();
  auto attr = c ? dyn_cast<FloatAttr>(c.getValue()) : FloatAttr();
  if (!attr)
    return std::nullopt;
  return attr.getValueAsDouble();
}

/// A generic over (m, n) -> m (one parallel, one reduction loop) with one
/// input read as (m, n): returns its input.
linalg::GenericOp rowReduction(Value v) {
  auto g = stripCasts(v).getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || g.getNumLoops() != 2 ||
      g.getNumReductionLoops() != 1)
    return nullptr;
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  MLIRContext *ctx = g.getContext();
  if (!maps[0].isIdentity() ||
      maps[1] != AffineMap::get(2, 0, getAffineDimExpr(0, ctx)))
    return nullptr;
  return g;
}

/// A 1-D elementwise generic over one input: returns it.
linalg::GenericOp rowMap(Value v) {
  auto g = stripCasts(v).getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || g.getNumLoops() != 1 ||
      g.getNumReductionLoops() != 0 ||
      !llvm::all_of(g.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return nullptr;
  return g;
}

/// Both reductions must start from zero (linalg.fill 0 or a zero constant).
bool startsFromZero(linalg::GenericOp reduction) {
  Value init = reduction.getDpsInits()[0];
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    return constant(fill.getInputs()[0]) == 0.0;
  if (auto c = init.getDefiningOp<arith::ConstantOp>())
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue()))
      return dense.isSplat() && dense.getSplatValue<APFloat>().isZero();
  return false;
}

struct LayerNormMatch {
  Value x, gamma, beta;
  double eps = 0;
};

/// `y` is LayerNorm's last generic (see the file comment).
std::optional<LayerNormMatch> matchLayerNorm(linalg::GenericOp y) {
  MLIRContext *ctx = y.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  if (y.getNumDpsInputs() != 4 || y.getNumLoops() != 2 ||
      y.getNumReductionLoops() != 0)
    return std::nullopt;
  SmallVector<AffineMap> maps = y.getIndexingMapsArray();
  if (!maps[0].isIdentity() || maps[1] != AffineMap::get(2, 0, d(0)) ||
      maps[2] != AffineMap::get(2, 0, d(1)) ||
      maps[3] != AffineMap::get(2, 0, d(1)) || !maps[4].isIdentity())
    return std::nullopt;
  // cent * rstd * gamma + beta (either operand order of each op).
  Value scaled = otherOperand<arith::AddFOp>(yielded(y), y, 3);
  Value normed = scaled ? otherOperand<arith::MulFOp>(scaled, y, 2) : Value();
  Value centred = normed ? otherOperand<arith::MulFOp>(normed, y, 1) : Value();
  if (!centred || !isArg(y, centred, 0))
    return std::nullopt;

  // cent = x - mean.
  auto cent = y.getDpsInputs()[0].getDefiningOp<linalg::GenericOp>();
  if (!cent || cent.getNumDpsInputs() != 2 || cent.getNumLoops() != 2 ||
      cent.getNumReductionLoops() != 0)
    return std::nullopt;
  SmallVector<AffineMap> cmaps = cent.getIndexingMapsArray();
  if (!cmaps[0].isIdentity() || cmaps[1] != AffineMap::get(2, 0, d(0)) ||
      !cmaps[2].isIdentity())
    return std::nullopt;
  auto sub = yielded(cent).getDefiningOp<arith::SubFOp>();
  if (!sub || !isArg(cent, sub.getLhs(), 0) || !isArg(cent, sub.getRhs(), 1))
    return std::nullopt;
  Value x = cent.getDpsInputs()[0];
  int64_t cols = cast<RankedTensorType>(x.getType()).getDimSize(1);

  // mean = (reduce add x) / cols.
  linalg::GenericOp meanOp = rowMap(cent.getDpsInputs()[1]);
  if (!meanOp)
    return std::nullopt;
  auto div = yielded(meanOp).getDefiningOp<arith::DivFOp>();
  if (!div || !isArg(meanOp, div.getLhs(), 0) ||
      constant(div.getRhs()) != double(cols))
    return std::nullopt;
  linalg::GenericOp sum = rowReduction(meanOp.getDpsInputs()[0]);
  if (!sum || sum.getDpsInputs()[0] != x)
    return std::nullopt;
  Value summed = otherOperand<arith::AddFOp>(yielded(sum), sum, 1);
  if (!summed || !isArg(sum, summed, 0) || !startsFromZero(sum))
    return std::nullopt;

  // rstd = rsqrt((reduce add cent^2) / cols + eps).
  linalg::GenericOp rstd = rowMap(y.getDpsInputs()[1]);
  if (!rstd)
    return std::nullopt;
  auto rsqrt = yielded(rstd).getDefiningOp<math::RsqrtOp>();
  auto shifted =
      rsqrt ? stripCasts(rsqrt.getOperand()).getDefiningOp<arith::AddFOp>()
            : arith::AddFOp();
  if (!shifted)
    return std::nullopt;
  auto var = stripCasts(shifted.getLhs()).getDefiningOp<arith::DivFOp>();
  std::optional<double> eps = constant(shifted.getRhs());
  if (!var || !eps || !isArg(rstd, var.getLhs(), 0) ||
      constant(var.getRhs()) != double(cols))
    return std::nullopt;
  linalg::GenericOp sq = rowReduction(rstd.getDpsInputs()[0]);
  if (!sq || sq.getDpsInputs()[0] != cent.getResult(0))
    return std::nullopt;
  Value prod = otherOperand<arith::AddFOp>(yielded(sq), sq, 1);
  auto square = prod ? prod.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  if (!square || !isArg(sq, square.getLhs(), 0) ||
      !isArg(sq, square.getRhs(), 0) || !startsFromZero(sq))
    return std::nullopt;
  return LayerNormMatch{x, y.getDpsInputs()[2], y.getDpsInputs()[3], *eps};
}

struct FlyGpuLayerNormKernelsPass
    : mlir::fly::impl::FlyGpuLayerNormKernelsBase<FlyGpuLayerNormKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp g) {
      if (g.getNumDpsInputs() == 4 && g.getNumLoops() == 2)
        candidates.push_back(g);
    });
    for (linalg::GenericOp y : candidates)
      if (failed(rewrite(y)))
        return signalPassFailure();
  }

  LogicalResult rewrite(linalg::GenericOp y) {
    std::optional<LayerNormMatch> match = matchLayerNorm(y);
    if (!match)
      return success();
    auto xType = cast<RankedTensorType>(match->x.getType());
    auto outType = cast<RankedTensorType>(y.getResult(0).getType());
    Type element = xType.getElementType();
    gen::LayerNormSpec spec;
    spec.rows = xType.getDimSize(0);
    spec.cols = xType.getDimSize(1);
    spec.eps = match->eps;
    spec.elementType = element.isF16() ? "f16" : element.isBF16() ? "bf16" : "";
    bool sameTypes =
        outType == xType &&
        cast<RankedTensorType>(match->gamma.getType()).getElementType() ==
            element &&
        cast<RankedTensorType>(match->beta.getType()).getElementType() ==
            element;
    std::string why = sameTypes ? gen::verifyLayerNormSpec(spec)
                                : "x, gamma, beta and y need one 16-bit type";
    if (!why.empty()) {
      if (remarks)
        y.emitRemark("LayerNorm on the generic path: ") << why;
      return success();
    }
    if (failed(mlir::fly::kernels::checkKernelChip(y, getArgument(), chip)))
      return failure();
    if (remarks)
      y.emitRemark("LayerNorm kernel ") << gen::layerNormKernelName(spec);
    OpBuilder b(&getContext());
    auto memref = [](Type t) {
      auto tt = cast<RankedTensorType>(t);
      return MemRefType::get(tt.getShape(), tt.getElementType());
    };
    func::FuncOp launcher = mlir::fly::kernels::declareLauncher(
        getOperation(), y.getLoc(), gen::layerNormLauncherName(spec),
        {memref(xType), memref(match->gamma.getType()),
         memref(match->beta.getType()), memref(outType)},
        mlir::fly::kernels::kLayerNormKernelAttr,
        mlir::fly::kernels::layerNormSpecToAttr(b, spec));
    b.setInsertionPoint(y);
    Value out = mlir::fly::kernels::callLauncher(
        b, y.getLoc(), launcher, {match->x, match->gamma, match->beta},
        outType);
    y.getResult(0).replaceAllUsesWith(out);
    return success();
  }
};

} // namespace

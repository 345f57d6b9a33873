//===- LayerNormMatch.cpp - LayerNorm as the importers build it -----------===//

#include "LayerNormMatch.h"

#include "KernelCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using mlir::fly::kernels::LayerNormMatch;
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

} // namespace

std::optional<LayerNormMatch>
mlir::fly::kernels::matchRowStatistics(Value meanValue, Value rstdValue) {
  MLIRContext *ctx = meanValue.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  // mean = (reduce add x) / cols.
  linalg::GenericOp meanOp = rowMap(meanValue);
  if (!meanOp)
    return std::nullopt;
  linalg::GenericOp sum = rowReduction(meanOp.getDpsInputs()[0]);
  if (!sum)
    return std::nullopt;
  Value x = sum.getDpsInputs()[0];
  int64_t cols = cast<RankedTensorType>(x.getType()).getDimSize(1);
  auto div = yielded(meanOp).getDefiningOp<arith::DivFOp>();
  if (!div || !isArg(meanOp, div.getLhs(), 0) ||
      constant(div.getRhs()) != double(cols))
    return std::nullopt;
  Value summed = otherOperand<arith::AddFOp>(yielded(sum), sum, 1);
  if (!summed || !isArg(sum, summed, 0) || !startsFromZero(sum))
    return std::nullopt;

  // rstd = rsqrt((reduce add cent^2) / cols + eps), cent = x - mean.
  linalg::GenericOp rstd = rowMap(rstdValue);
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
  if (!sq)
    return std::nullopt;
  Value prod = otherOperand<arith::AddFOp>(yielded(sq), sq, 1);
  auto square = prod ? prod.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  if (!square || !isArg(sq, square.getLhs(), 0) ||
      !isArg(sq, square.getRhs(), 0) || !startsFromZero(sq))
    return std::nullopt;
  auto cent = sq.getDpsInputs()[0].getDefiningOp<linalg::GenericOp>();
  if (!cent || cent.getNumDpsInputs() != 2 || cent.getNumLoops() != 2 ||
      cent.getNumReductionLoops() != 0 || cent.getDpsInputs()[0] != x ||
      cent.getDpsInputs()[1] != meanValue)
    return std::nullopt;
  SmallVector<AffineMap> cmaps = cent.getIndexingMapsArray();
  if (!cmaps[0].isIdentity() || cmaps[1] != AffineMap::get(2, 0, d(0)) ||
      !cmaps[2].isIdentity())
    return std::nullopt;
  auto sub = yielded(cent).getDefiningOp<arith::SubFOp>();
  if (!sub || !isArg(cent, sub.getLhs(), 0) || !isArg(cent, sub.getRhs(), 1))
    return std::nullopt;
  LayerNormMatch m;
  m.x = x;
  m.mean = meanValue;
  m.rstd = rstdValue;
  m.eps = *eps;
  return m;
}

std::optional<LayerNormMatch>
mlir::fly::kernels::matchLayerNorm(linalg::GenericOp y) {
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
  auto cent = y.getDpsInputs()[0].getDefiningOp<linalg::GenericOp>();
  if (!cent || cent.getNumDpsInputs() != 2)
    return std::nullopt;
  std::optional<LayerNormMatch> m =
      matchRowStatistics(cent.getDpsInputs()[1], y.getDpsInputs()[1]);
  // The statistics' centred x must be the one y scales.
  if (!m || cent.getDpsInputs()[0] != m->x)
    return std::nullopt;
  auto sq =
      rowReduction(cast<linalg::GenericOp>(stripCasts(m->rstd).getDefiningOp())
                       .getDpsInputs()[0]);
  if (!sq || sq.getDpsInputs()[0] != cent.getResult(0))
    return std::nullopt;
  m->gamma = y.getDpsInputs()[2];
  m->beta = y.getDpsInputs()[3];
  return m;
}

//===- RaiseAttention.cpp - softmax attention to fly.attention --*- C++ -*-===//
//
// fly-raise-attention: anchored on the contraction probs * v (linalg or
// tosa.matmul), a guard chain walks back through the softmax, the scale and
// causal mask, to q * k^T, and replaces the whole chain by fly.attention on
// [B, H, T, D] tensors. Every check after "this is a candidate" records its
// reason for --remarks.
//
//===----------------------------------------------------------------------===//

#include "MatchUtils.h"

#include "fly/Dialect/Fly/IR/FlyOps.h"
#include "fly/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYRAISEATTENTION
#include "fly/Transforms/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
using namespace mlir::fly;
using namespace mlir::fly::detail;

namespace {
/// Scores at or below this are masked out (HF uses finfo.min or -1e4..-1e9).
constexpr double kMaskThreshold = -1e4;

/// What lies between q * k^T and the softmax.
struct ScoreOps {
  double scale = 1.0;
  bool causal = false;
};

/// True for a one-input generic mapping a tensor to one of the same type
/// elementwise (identity maps, all loops parallel).
bool isElementwiseUnary(linalg::GenericOp g) {
  return g.getNumDpsInputs() == 1 && g.getNumDpsInits() == 1 &&
         g->getNumResults() == 1 &&
         g.getNumParallelLoops() == g.getNumLoops() &&
         llvm::all_of(g.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }) &&
         g.getDpsInputOperand(0)->get().getType() == g->getResult(0).getType();
}

bool isMaskingConstant(Value v) {
  std::optional<double> c = getScalarConstant(v);
  return c && *c <= kMaskThreshold;
}

/// How a comparison of loop indices splits keys (dim `sDim`) from queries
/// (dim `tDim`).
enum class KeyRule { None, KeyLeQuery, KeyGtQuery };

KeyRule classifyCondition(Value cond, unsigned tDim, unsigned sDim) {
  auto cmp = cond.getDefiningOp<arith::CmpIOp>();
  if (!cmp)
    return KeyRule::None;
  auto dimOf = [](Value v) -> std::optional<uint64_t> {
    if (auto index = v.getDefiningOp<linalg::IndexOp>())
      return index.getDim();
    return std::nullopt;
  };
  std::optional<uint64_t> lhs = dimOf(cmp.getLhs()), rhs = dimOf(cmp.getRhs());
  if (!lhs || !rhs)
    return KeyRule::None;
  bool keyOnLeft = *lhs == sDim && *rhs == tDim;
  if (!keyOnLeft && !(*lhs == tDim && *rhs == sDim))
    return KeyRule::None;
  // Evaluate the comparison for a key before, at and after the query.
  auto holds = [&](int64_t key, int64_t query) {
    APInt k(64, key), q(64, query);
    return keyOnLeft ? arith::applyCmpPredicate(cmp.getPredicate(), k, q)
                     : arith::applyCmpPredicate(cmp.getPredicate(), q, k);
  };
  bool before = holds(0, 1), at = holds(1, 1), after = holds(2, 1);
  if (before && at && !after)
    return KeyRule::KeyLeQuery;
  if (!before && !at && after)
    return KeyRule::KeyGtQuery;
  return KeyRule::None;
}

/// True if `v` (in a body) is the additive causal mask
/// select(key <= query, 0, NEG) or select(key > query, NEG, 0).
bool isAdditiveCausalMask(Value v, unsigned tDim, unsigned sDim) {
  auto sel = v.getDefiningOp<arith::SelectOp>();
  if (!sel)
    return false;
  KeyRule rule = classifyCondition(sel.getCondition(), tDim, sDim);
  return (rule == KeyRule::KeyLeQuery && isZeroConstant(sel.getTrueValue()) &&
          isMaskingConstant(sel.getFalseValue())) ||
         (rule == KeyRule::KeyGtQuery &&
          isMaskingConstant(sel.getTrueValue()) &&
          isZeroConstant(sel.getFalseValue()));
}

/// Walks the body of an elementwise generic from its yield back to its input,
/// multiplying `ops.scale` by constant factors (mulf, divf) and, when
/// `allowMask`, setting `ops.causal` for a select- or add-form causal mask on
/// the loop indices `tDim` (query) and `sDim` (key).
LogicalResult analyzeScoreBody(linalg::GenericOp g, unsigned tDim,
                               unsigned sDim, bool allowMask, ScoreOps &ops,
                               std::string &why) {
  Block &body = g.getRegion().front();
  Value cur = cast<linalg::YieldOp>(body.getTerminator()).getOperand(0);
  while (cur != body.getArgument(0)) {
    Operation *def = cur.getDefiningOp();
    if (!def || def->getBlock() != &body) {
      why = "the scores chain does not reach the generic's input";
      return failure();
    }
    if (auto mul = dyn_cast<arith::MulFOp>(def)) {
      std::optional<double> c = getScalarConstant(mul.getRhs());
      cur = mul.getLhs();
      if (!c) {
        c = getScalarConstant(mul.getLhs());
        cur = mul.getRhs();
      }
      if (!c) {
        why = "the scale is not a constant";
        return failure();
      }
      ops.scale *= *c;
      continue;
    }
    if (auto div = dyn_cast<arith::DivFOp>(def)) {
      std::optional<double> c = getScalarConstant(div.getRhs());
      if (!c || *c == 0.0) {
        why = "the scale is not a constant";
        return failure();
      }
      ops.scale /= *c;
      cur = div.getLhs();
      continue;
    }
    if (auto sel = dyn_cast<arith::SelectOp>(def); sel && allowMask) {
      KeyRule rule = classifyCondition(sel.getCondition(), tDim, sDim);
      if (rule == KeyRule::KeyLeQuery &&
          isMaskingConstant(sel.getFalseValue())) {
        cur = sel.getTrueValue();
      } else if (rule == KeyRule::KeyGtQuery &&
                 isMaskingConstant(sel.getTrueValue())) {
        cur = sel.getFalseValue();
      } else {
        why = "select is not a causal mask (key <= query kept, a large "
              "negative constant elsewhere)";
        return failure();
      }
      ops.causal = true;
      continue;
    }
    if (auto add = dyn_cast<arith::AddFOp>(def); add && allowMask) {
      if (isAdditiveCausalMask(add.getRhs(), tDim, sDim)) {
        cur = add.getLhs();
      } else if (isAdditiveCausalMask(add.getLhs(), tDim, sDim)) {
        cur = add.getRhs();
      } else {
        why = "addf is not an additive causal mask";
        return failure();
      }
      ops.causal = true;
      continue;
    }
    why =
        ("unsupported op in the scores chain: " + def->getName().getStringRef())
            .str();
    return failure();
  }
  return success();
}

/// The inline constant `v` as a [1, .., 1, T, S] tensor of `T` x `S` values,
/// where `scores` is [.., T, S]; null if it is not one.
DenseElementsAttr getMaskConstant(Value v, RankedTensorType scores) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return DenseElementsAttr();
  ArrayRef<int64_t> shape = attr.getType().getShape();
  if (shape.size() < 2 ||
      shape.take_back(2) != scores.getShape().take_back(2) ||
      !llvm::all_of(shape.drop_back(2), [](int64_t d) { return d == 1; }))
    return DenseElementsAttr();
  return attr;
}

/// Checks that `keep(i, j)`, for every query i < T and key j < S, is j <= i
/// (a causal mask aligned top-left); on failure says which element is not.
LogicalResult checkTriangular(int64_t t, int64_t s,
                              function_ref<std::optional<bool>(int64_t)> keep,
                              StringRef what, std::string &why) {
  for (int64_t i = 0; i < t; ++i) {
    for (int64_t j = 0; j < s; ++j) {
      std::optional<bool> kept = keep(i * s + j);
      if (kept && *kept == (j <= i))
        continue;
      why = llvm::formatv("{0} is not causal at [{1}, {2}] (needs 0 / keep "
                          "for key <= query, <= -1e4 / drop above)",
                          what, i, j);
      return failure();
    }
  }
  return success();
}

/// Checks that the float constant `mask` (T x S values after unit dims) is
/// an additive causal mask: 0 where key j <= query i, <= -1e4 (or -inf)
/// above the diagonal.
LogicalResult checkAdditiveMask(DenseElementsAttr mask, int64_t t, int64_t s,
                                std::string &why) {
  if (!isa<FloatType>(mask.getElementType())) {
    why = "the added mask is not a float constant";
    return failure();
  }
  SmallVector<double> values =
      llvm::map_to_vector(mask.getValues<APFloat>(),
                          [](const APFloat &f) { return f.convertToDouble(); });
  auto keep = [&](int64_t idx) -> std::optional<bool> {
    double v = values[mask.isSplat() ? 0 : idx];
    if (v == 0.0)
      return true;
    if (v <= kMaskThreshold)
      return false;
    return std::nullopt;
  };
  return checkTriangular(t, s, keep, "the added mask", why);
}

/// Matches a two-input elementwise generic `g` adding a constant causal mask
/// (broadcast along the leading dims) to the scores, and returns the scores
/// input. Fails without a reason when `g` is not such an add of a constant,
/// with one (in `why`) when the constant is not a causal mask.
FailureOr<Value> matchAddedMaskGeneric(linalg::GenericOp g, bool &isCandidate,
                                       std::string &why) {
  isCandidate = false;
  if (g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 ||
      g->getNumResults() != 1 || g.getNumParallelLoops() != g.getNumLoops())
    return failure();
  Block &body = g.getRegion().front();
  auto add = cast<linalg::YieldOp>(body.getTerminator())
                 .getOperand(0)
                 .getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != &body ||
      !((add.getLhs() == body.getArgument(0) &&
         add.getRhs() == body.getArgument(1)) ||
        (add.getLhs() == body.getArgument(1) &&
         add.getRhs() == body.getArgument(0))))
    return failure();
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  auto type = cast<RankedTensorType>(g->getResult(0).getType());
  unsigned rank = type.getRank();
  for (unsigned i = 0; i < 2; ++i) {
    Value scores = g.getDpsInputOperand(1 - i)->get();
    DenseElementsAttr mask =
        getMaskConstant(g.getDpsInputOperand(i)->get(), type);
    if (!mask || !maps[1 - i].isIdentity() || !maps[2].isIdentity() ||
        scores.getType() != type)
      continue;
    // The mask reads the trailing loop dims in order (right-aligned).
    AffineMap m = maps[i];
    unsigned k = m.getNumResults();
    bool trailing = k >= 2 && k <= rank && m.getNumDims() == rank;
    for (unsigned r = 0; trailing && r < k; ++r) {
      auto d = dyn_cast<AffineDimExpr>(m.getResult(r));
      trailing = d && d.getPosition() == rank - k + r;
    }
    if (!trailing)
      continue;
    isCandidate = true;
    if (failed(checkAdditiveMask(mask, type.getShape().end()[-2],
                                 type.getShape().back(), why)))
      return failure();
    return scores;
  }
  return failure();
}

/// Folds constant scale factors applied to `x` (q or k before q * k^T) into
/// `ops.scale` and returns the unscaled value.
Value peelScale(Value x, ScoreOps &ops) {
  while (auto g = x.getDefiningOp<linalg::GenericOp>()) {
    ScoreOps found;
    std::string ignored;
    if (!isElementwiseUnary(g) ||
        failed(analyzeScoreBody(g, 0, 0, /*allowMask=*/false, found, ignored)))
      break;
    ops.scale *= found.scale;
    x = g.getDpsInputOperand(0)->get();
  }
  return x;
}

/// Matches `result` as a row reduction `combine(in, out)` of a generic over
/// exactly one dimension, which it returns; `input` is the reduced tensor.
template <typename... CombineOps>
FailureOr<unsigned> matchRowReduction(Value result, Value &input) {
  auto g = result.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
      g.getNumReductionLoops() != 1)
    return failure();
  SmallVector<unsigned> dims;
  g.getReductionDims(dims);
  unsigned rank = g.getNumLoops();
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  if (!maps[0].isIdentity() || !dropsOnlyDim(maps[1], rank, dims[0]))
    return failure();
  Block &body = g.getRegion().front();
  Operation *combine =
      cast<linalg::YieldOp>(body.getTerminator()).getOperand(0).getDefiningOp();
  if (!combine || !isa<CombineOps...>(combine) || combine->getBlock() != &body)
    return failure();
  Value a = combine->getOperand(0), b = combine->getOperand(1);
  Value in = body.getArgument(0), out = body.getArgument(1);
  if (!((a == in && b == out) || (a == out && b == in)))
    return failure();
  input = g.getDpsInputOperand(0)->get();
  return dims[0];
}

/// Matches `shifted = logits - rowmax(logits)` (a two-input generic, the max
/// broadcast along `axis`) and returns the logits.
FailureOr<Value> matchMaxShift(linalg::GenericOp sub, Value shiftedInBody,
                               unsigned axis, std::string &why) {
  auto subf = shiftedInBody.getDefiningOp<arith::SubFOp>();
  Block &body = sub.getRegion().front();
  if (!subf || sub.getNumDpsInputs() != 2 ||
      subf.getLhs() != body.getArgument(0) ||
      subf.getRhs() != body.getArgument(1)) {
    why = "the exponent is not scores - row max";
    return failure();
  }
  unsigned rank = sub.getNumLoops();
  SmallVector<AffineMap> maps = sub.getIndexingMapsArray();
  if (!maps[0].isIdentity() || !dropsOnlyDim(maps[1], rank, axis)) {
    why = llvm::formatv("the subtracted max is not broadcast along the key "
                        "dim {0}",
                        axis);
    return failure();
  }
  Value logits = sub.getDpsInputOperand(0)->get(), maxInput;
  FailureOr<unsigned> maxDim =
      matchRowReduction<arith::MaximumFOp, arith::MaxNumFOp>(
          sub.getDpsInputOperand(1)->get(), maxInput);
  if (failed(maxDim)) {
    why = "the subtracted value is not a row max";
    return failure();
  }
  if (*maxDim != axis) {
    why = llvm::formatv("the row max reduces dim {0}, not the key dim {1}",
                        *maxDim, axis);
    return failure();
  }
  if (maxInput != logits) {
    why = "the row max is not over the same scores";
    return failure();
  }
  return logits;
}

/// Matches `probs` as a softmax over dimension `axis` and returns its input:
/// `linalg.softmax`, or decomposed as [max,] exp(s - max), row sum, then
/// divf by the sum or mulf by its reciprocal.
FailureOr<Value> matchSoftmax(Value probs, unsigned axis, StringRef &form,
                              std::string &why) {
  if (auto sm = probs.getDefiningOp<linalg::SoftmaxOp>()) {
    if (sm.getDimension() != axis) {
      why = llvm::formatv("linalg.softmax over dim {0}, not the key dim {1}",
                          sm.getDimension(), axis);
      return failure();
    }
    form = "linalg.softmax";
    return sm.getInput();
  }
  form = "decomposed softmax";
  auto norm = probs.getDefiningOp<linalg::GenericOp>();
  if (!norm || norm.getNumDpsInputs() != 2 || norm.getNumDpsInits() != 1 ||
      norm.getNumParallelLoops() != norm.getNumLoops()) {
    why = "the probabilities are not a softmax";
    return failure();
  }
  // The normaliser: e / sum, e * recip or e * (1 / sum).
  Block &body = norm.getRegion().front();
  Value y = cast<linalg::YieldOp>(body.getTerminator()).getOperand(0);
  Value a0 = body.getArgument(0), a1 = body.getArgument(1);
  int eIdx = -1;
  bool reciprocalTensor = false;
  auto isOneOver = [&](Value v, Value arg) {
    auto div = v.getDefiningOp<arith::DivFOp>();
    std::optional<double> one =
        div ? getScalarConstant(div.getLhs()) : std::nullopt;
    return div && one && *one == 1.0 && div.getRhs() == arg;
  };
  if (auto div = y.getDefiningOp<arith::DivFOp>()) {
    if (div.getLhs() == a0 && div.getRhs() == a1)
      eIdx = 0;
    else if (div.getLhs() == a1 && div.getRhs() == a0)
      eIdx = 1;
  } else if (auto mul = y.getDefiningOp<arith::MulFOp>()) {
    for (auto [e, other] : {std::pair(mul.getLhs(), mul.getRhs()),
                            std::pair(mul.getRhs(), mul.getLhs())}) {
      if (eIdx >= 0 || (e != a0 && e != a1))
        continue;
      Value sumArg = e == a0 ? a1 : a0;
      if (other == sumArg) {
        reciprocalTensor = true;
        eIdx = e == a0 ? 0 : 1;
      } else if (isOneOver(other, sumArg)) {
        eIdx = e == a0 ? 0 : 1;
      }
    }
  }
  if (eIdx < 0) {
    why = "the probabilities are not exp / row sum";
    return failure();
  }
  unsigned rank = norm.getNumLoops(), sumIdx = 1 - eIdx;
  SmallVector<AffineMap> maps = norm.getIndexingMapsArray();
  if (!maps[eIdx].isIdentity() || !maps[2].isIdentity()) {
    why = "the normaliser is not elementwise over the exponentials";
    return failure();
  }
  if (!dropsOnlyDim(maps[sumIdx], rank, axis)) {
    why = llvm::formatv("the softmax does not normalise over the key dim {0}",
                        axis);
    return failure();
  }
  Value e = norm.getDpsInputOperand(eIdx)->get();
  Value sum = norm.getDpsInputOperand(sumIdx)->get();
  if (reciprocalTensor) {
    auto recip = sum.getDefiningOp<linalg::GenericOp>();
    Block *rb = recip ? &recip.getRegion().front() : nullptr;
    if (!recip || !isElementwiseUnary(recip) ||
        !isOneOver(cast<linalg::YieldOp>(rb->getTerminator()).getOperand(0),
                   rb->getArgument(0))) {
      why = "the normaliser multiplies by something other than 1 / row sum";
      return failure();
    }
    sum = recip.getDpsInputOperand(0)->get();
  }

  // The row sum of the exponentials, into zeros.
  Value summed;
  FailureOr<unsigned> sumDim = matchRowReduction<arith::AddFOp>(sum, summed);
  if (failed(sumDim) ||
      !isZeroTensor(sum.getDefiningOp<linalg::GenericOp>().getDpsInits()[0])) {
    why = "the normaliser is not a row sum into zeros";
    return failure();
  }
  if (*sumDim != axis) {
    why = llvm::formatv("the row sum reduces dim {0}, not the key dim {1}",
                        *sumDim, axis);
    return failure();
  }
  if (summed != e) {
    why = "the row sum is not over the same exponentials";
    return failure();
  }

  // The exponentials: exp(s - max) in one generic, or exp of a separate
  // subtraction, or exp(s) with no shift (exact, if less robust).
  auto expG = e.getDefiningOp<linalg::GenericOp>();
  if (!expG || expG.getNumDpsInits() != 1 ||
      expG.getNumParallelLoops() != expG.getNumLoops() ||
      !expG.getIndexingMapsArray().back().isIdentity()) {
    why = "the exponentials are not an elementwise generic";
    return failure();
  }
  Block &eb = expG.getRegion().front();
  auto exp = cast<linalg::YieldOp>(eb.getTerminator())
                 .getOperand(0)
                 .getDefiningOp<math::ExpOp>();
  if (!exp || exp->getBlock() != &eb) {
    why = "the numerator is not an exp";
    return failure();
  }
  if (expG.getNumDpsInputs() == 2)
    return matchMaxShift(expG, exp.getOperand(), axis, why);
  if (!isElementwiseUnary(expG) || exp.getOperand() != eb.getArgument(0)) {
    why = "the numerator is not exp of the scores";
    return failure();
  }
  Value shifted = expG.getDpsInputOperand(0)->get();
  auto sub = shifted.getDefiningOp<linalg::GenericOp>();
  if (sub && sub.getNumDpsInputs() == 2) {
    Value subBody =
        cast<linalg::YieldOp>(sub.getRegion().front().getTerminator())
            .getOperand(0);
    if (subBody.getDefiningOp<arith::SubFOp>())
      return matchMaxShift(sub, subBody, axis, why);
  }
  return shifted;
}

/// The [B, H, T, D] tensor that the [B*H, T, D] `x` merges: the source of a
/// `collapse_shape` [[0, 1], [2], [3]] or of a `tosa.reshape` from a 4-D
/// tensor with the same last two dims; null if `x` is neither.
Value headSource(Value x) {
  auto type = dyn_cast<RankedTensorType>(x.getType());
  if (!type || type.getRank() != 3)
    return Value();
  Value src;
  if (auto c = x.getDefiningOp<tensor::CollapseShapeOp>();
      c && c.getReassociationIndices() ==
               SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}})
    src = c.getSrc();
  else if (auto r = x.getDefiningOp<tosa::ReshapeOp>())
    src = r.getInput1();
  auto srcType =
      src ? dyn_cast<RankedTensorType>(src.getType()) : RankedTensorType();
  if (!srcType || srcType.getRank() != 4 ||
      srcType.getDimSize(0) * srcType.getDimSize(1) != type.getDimSize(0) ||
      srcType.getShape().take_back(2) != type.getShape().take_back(2))
    return Value();
  return src;
}

/// Replaces `op`, the contraction probs * v ([N, T, Dv] with `numBatch` 1 or
/// [B, H, T, Dv] with 2), by fly.attention of q, k and v (k given [.., S, D],
/// or [.., D, S] when `transposeK`) with the scale and mask in `ops`. 3-D
/// operands are expanded to [B, H, T, D]: B and H from the reshape that
/// merged q's heads, else B = 1.
void replaceWithAttention(PatternRewriter &rewriter, Operation *op, Value q,
                          Value k, Value v, bool transposeK, unsigned numBatch,
                          const ScoreOps &ops, StringRef form, RemarkLog *log) {
  unsigned rank = numBatch + 2;
  Location loc = op->getLoc();
  auto resultType = cast<RankedTensorType>(op->getResultTypes()[0]);
  Type element = resultType.getElementType();
  if (transposeK) {
    auto kt = cast<RankedTensorType>(k.getType());
    SmallVector<int64_t> shape(kt.getShape());
    SmallVector<int64_t> perm =
        llvm::to_vector(llvm::seq<int64_t>(0, static_cast<int64_t>(rank)));
    std::swap(shape[rank - 2], shape[rank - 1]);
    std::swap(perm[rank - 2], perm[rank - 1]);
    Value empty = tensor::EmptyOp::create(rewriter, loc, shape, element);
    k = linalg::TransposeOp::create(rewriter, loc, k, empty, perm)
            .getResult()[0];
  }
  SmallVector<ReassociationIndices> merge = {{0, 1}, {2}, {3}};
  int64_t batch = 1, heads = resultType.getDimSize(0);
  if (numBatch == 2) {
    batch = resultType.getDimSize(0), heads = resultType.getDimSize(1);
  } else if (Value src = headSource(q)) {
    batch = cast<RankedTensorType>(src.getType()).getDimSize(0);
    heads = cast<RankedTensorType>(src.getType()).getDimSize(1);
  }
  auto to4D = [&](Value x) -> Value {
    if (numBatch == 2)
      return x;
    if (Value src = headSource(x)) {
      auto srcType = cast<RankedTensorType>(src.getType());
      if (srcType.getDimSize(0) == batch && srcType.getDimSize(1) == heads)
        return src;
    }
    auto t = cast<RankedTensorType>(x.getType());
    auto t4 = RankedTensorType::get(
        {batch, heads, t.getDimSize(1), t.getDimSize(2)}, element);
    return tensor::ExpandShapeOp::create(rewriter, loc, t4, x, merge);
  };
  Value q4 = to4D(q), k4 = to4D(k), v4 = to4D(v);
  auto q4Type = cast<RankedTensorType>(q4.getType());
  auto o4Type = RankedTensorType::get(
      {batch, heads, q4Type.getDimSize(2),
       cast<RankedTensorType>(v4.getType()).getDimSize(3)},
      element);
  auto attention =
      AttentionOp::create(rewriter, loc, o4Type, q4, k4, v4, /*mask=*/Value(),
                          ops.causal, rewriter.getF64FloatAttr(ops.scale));
  if (log)
    log->raised(attention, form);
  if (numBatch == 2) {
    rewriter.replaceOp(op, attention);
  } else {
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, resultType, attention.getResult(), merge);
  }
}

/// Raises softmax(scale * q k^T [causal]) v, anchored on the contraction
/// with v, to fly.attention.
struct RaiseSoftmaxAttention : OpInterfaceRewritePattern<linalg::LinalgOp> {
  RaiseSoftmaxAttention(MLIRContext *ctx, RemarkLog *log)
      : OpInterfaceRewritePattern(ctx), log(log) {}

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    // Candidates: batched contractions whose lhs is computed by a generic or
    // linalg.softmax (q * k^T reads q from reshapes and is not reported).
    std::string why;
    FailureOr<Contraction> pv = matchContraction(op, why);
    if (failed(pv))
      return rewriter.notifyMatchFailure(op, why);
    if (pv->numBatch < 1 || pv->numBatch > 2)
      return rewriter.notifyMatchFailure(op, "not [B*H] or [B, H] batched");
    if (!pv->lhs.getDefiningOp<linalg::GenericOp>() &&
        !pv->lhs.getDefiningOp<linalg::SoftmaxOp>())
      return rewriter.notifyMatchFailure(op, "lhs is not computed");

    if (pv->lhsTransposed || pv->rhsTransposed)
      return reject(rewriter, op, log, "probs * v has a transposed operand");
    if (!isZeroTensor(pv->init))
      return reject(rewriter, op, log, "probs * v accumulates into non-zero");

    unsigned rank = pv->numBatch + 2, tDim = rank - 2, sDim = rank - 1;
    StringRef form;
    FailureOr<Value> logits = matchSoftmax(pv->lhs, sDim, form, why);
    if (failed(logits))
      return reject(rewriter, op, log, why);

    // Scale and mask, in elementwise generics between q * k^T and softmax.
    ScoreOps ops;
    Value scores = *logits;
    FailureOr<Contraction> qk = failure();
    while (true) {
      auto def = scores.getDefiningOp<linalg::LinalgOp>();
      if (!def)
        return reject(rewriter, op, log, "the scores do not come from q * k^T");
      std::string qkWhy;
      if (succeeded(qk = matchContraction(def, qkWhy)))
        break;
      auto g = dyn_cast<linalg::GenericOp>(def.getOperation());
      bool isMaskAdd = false;
      FailureOr<Value> masked =
          g ? matchAddedMaskGeneric(g, isMaskAdd, why) : FailureOr<Value>();
      if (isMaskAdd && failed(masked))
        return reject(rewriter, op, log, why);
      if (isMaskAdd) {
        ops.causal = true;
        scores = *masked;
        continue;
      }
      if (!g || !isElementwiseUnary(g))
        return reject(rewriter, op, log,
                      "the scores do not come from q * k^T through "
                      "elementwise scale and mask");
      if (failed(analyzeScoreBody(g, tDim, sDim, /*allowMask=*/true, ops, why)))
        return reject(rewriter, op, log, why);
      scores = g.getDpsInputOperand(0)->get();
    }
    if (qk->numBatch != pv->numBatch || qk->lhsTransposed)
      return reject(rewriter, op, log, "q * k^T has another layout");
    if (!isZeroTensor(qk->init))
      return reject(rewriter, op, log, "q * k^T accumulates into non-zero");

    // k as [.., S, D]: the source of a transpose of the last two dims, the
    // rhs itself when indexed [n, k], else transposed below.
    Value q = peelScale(qk->lhs, ops), k = qk->rhs, v = pv->rhs;
    bool transposeK = !qk->rhsTransposed;
    if (auto t = k.getDefiningOp<linalg::TransposeOp>(); transposeK && t) {
      SmallVector<int64_t> swapLast =
          llvm::to_vector(llvm::seq<int64_t>(0, static_cast<int64_t>(rank)));
      std::swap(swapLast[rank - 2], swapLast[rank - 1]);
      if (t.getPermutation() == ArrayRef<int64_t>(swapLast)) {
        k = t.getInput();
        transposeK = false;
      }
    }
    if (!transposeK)
      k = peelScale(k, ops);
    // The matched mask keeps key <= query (top-left aligned); fly.attention's
    // causal aligns the diagonal bottom-right, the same only when S = T.
    auto scoresType = cast<RankedTensorType>(pv->lhs.getType());
    if (ops.causal &&
        scoresType.getDimSize(tDim) != scoresType.getDimSize(sDim))
      return reject(rewriter, op, log,
                    "a causal mask with S != T (fly.attention aligns it "
                    "bottom-right)");
    if (!(ops.scale > 0.0))
      return reject(rewriter, op, log,
                    llvm::formatv("the scale {0} is not positive", ops.scale));

    replaceWithAttention(rewriter, op, q, k, v, transposeK, pv->numBatch, ops,
                         form, log);
    return success();
  }

  RemarkLog *log;
};

//===----------------------------------------------------------------------===//
// TOSA: tosa.matmul contractions, softmax as reduce_max / sub / exp /
// reduce_sum / reciprocal / mul over the last dim, scales as tosa.mul by a
// splat constant, causal masks as triangular constants.
//===----------------------------------------------------------------------===//

/// Matches `probs` (a tosa.mul) as a softmax over its last dim:
/// `e * reciprocal(reduce_sum(e))`, e = `exp(s - reduce_max(s))` or `exp(s)`,
/// and returns s.
FailureOr<Value> matchTosaSoftmax(tosa::MulOp norm, std::string &why) {
  auto type = cast<RankedTensorType>(norm.getType());
  int64_t axis = type.getRank() - 1;
  Value e;
  tosa::ReciprocalOp recip;
  for (unsigned i = 0; i < 2 && !recip; ++i)
    if ((recip = norm->getOperand(i).getDefiningOp<tosa::ReciprocalOp>()))
      e = norm->getOperand(1 - i);
  if (!recip) {
    why = "the probabilities are not exp * reciprocal(row sum)";
    return failure();
  }
  if (!isZeroConstant(norm.getShift()) || e.getType() != type) {
    why = "the normaliser is not elementwise over the exponentials";
    return failure();
  }
  auto sum = recip->getOperand(0).getDefiningOp<tosa::ReduceSumOp>();
  if (!sum) {
    why = "the normaliser is not 1 / row sum (tosa.reduce_sum)";
    return failure();
  }
  if (int64_t(sum.getAxis()) != axis) {
    why = llvm::formatv("the row sum reduces dim {0}, not the key dim {1}",
                        sum.getAxis(), axis);
    return failure();
  }
  if (sum.getInput() != e) {
    why = "the row sum is not over the same exponentials";
    return failure();
  }
  auto exp = e.getDefiningOp<tosa::ExpOp>();
  if (!exp) {
    why = "the numerator is not a tosa.exp";
    return failure();
  }
  Value shifted = exp->getOperand(0);
  auto sub = shifted.getDefiningOp<tosa::SubOp>();
  if (!sub)
    return shifted; // exp(s): exact, if less robust
  auto max = sub.getInput2().getDefiningOp<tosa::ReduceMaxOp>();
  if (!max || sub.getInput1().getType() != type) {
    why = "the exponent is not scores - row max";
    return failure();
  }
  if (int64_t(max.getAxis()) != axis) {
    why = llvm::formatv("the row max reduces dim {0}, not the key dim {1}",
                        max.getAxis(), axis);
    return failure();
  }
  if (max.getInput() != sub.getInput1()) {
    why = "the row max is not over the same scores";
    return failure();
  }
  return sub.getInput1();
}

/// The tosa.mul's splat constant factor and the other operand, if one
/// operand is a splat constant and the shift is 0.
std::optional<std::pair<double, Value>> splitScale(tosa::MulOp mul) {
  if (!isZeroConstant(mul.getShift()))
    return std::nullopt;
  for (unsigned i = 0; i < 2; ++i)
    if (std::optional<double> c = getSplatConstant(mul->getOperand(i)))
      return std::pair(*c, mul->getOperand(1 - i));
  return std::nullopt;
}

/// Walks back from the softmax input `scores` through scales (tosa.mul by a
/// splat constant), causal masks (tosa.add of a constant that is 0 on and
/// below the diagonal and <= -1e4 above it; tosa.select on a constant
/// triangular condition with a large negative splat) and batch reshapes to
/// the tosa.matmul q * k^T.
FailureOr<tosa::MatMulOp> walkTosaScores(Value scores, ScoreOps &ops,
                                         std::string &why) {
  while (true) {
    Operation *def = scores.getDefiningOp();
    if (!def) {
      why = "the scores do not come from q * k^T";
      return failure();
    }
    if (auto qk = dyn_cast<tosa::MatMulOp>(def))
      return qk;
    if (isBatchReshape(scores)) {
      scores = def->getOperand(0);
      continue;
    }
    auto type = cast<RankedTensorType>(scores.getType());
    int64_t t = type.getRank() >= 2 ? type.getShape().end()[-2] : 0;
    int64_t s = type.getRank() >= 2 ? type.getShape().back() : 0;
    if (auto mul = dyn_cast<tosa::MulOp>(def)) {
      std::optional<std::pair<double, Value>> scale = splitScale(mul);
      if (!scale) {
        why = "the scale is not a constant";
        return failure();
      }
      if (scale->second.getType() != type) {
        why = "the scale broadcasts the scores";
        return failure();
      }
      ops.scale *= scale->first;
      scores = scale->second;
      continue;
    }
    if (auto add = dyn_cast<tosa::AddOp>(def)) {
      DenseElementsAttr mask;
      Value other;
      for (unsigned i = 0; i < 2 && !mask; ++i)
        if ((mask = getMaskConstant(add->getOperand(i), type)))
          other = add->getOperand(1 - i);
      if (!mask || other.getType() != type) {
        why = "the added mask is not an inline [1, .., 1, T, S] constant";
        return failure();
      }
      if (failed(checkAdditiveMask(mask, t, s, why)))
        return failure();
      ops.causal = true;
      scores = other;
      continue;
    }
    if (auto sel = dyn_cast<tosa::SelectOp>(def)) {
      Value pred = def->getOperand(0), onTrue = def->getOperand(1),
            onFalse = def->getOperand(2);
      std::optional<double> fTrue = getSplatConstant(onTrue),
                            fFalse = getSplatConstant(onFalse);
      bool keepWhenTrue = fFalse && *fFalse <= kMaskThreshold;
      if (!keepWhenTrue && !(fTrue && *fTrue <= kMaskThreshold)) {
        why = "select does not replace scores by a large negative constant";
        return failure();
      }
      Value kept = keepWhenTrue ? onTrue : onFalse;
      DenseElementsAttr cond = getMaskConstant(pred, type);
      if (!cond || !cond.getElementType().isInteger(1) ||
          kept.getType() != type) {
        why = "the select condition is not an inline [1, .., 1, T, S] "
              "constant";
        return failure();
      }
      SmallVector<bool> values = llvm::to_vector(cond.getValues<bool>());
      auto keep = [&](int64_t idx) -> std::optional<bool> {
        return values[cond.isSplat() ? 0 : idx] == keepWhenTrue;
      };
      if (failed(checkTriangular(t, s, keep, "the select condition", why)))
        return failure();
      ops.causal = true;
      scores = kept;
      continue;
    }
    why =
        ("unsupported op in the scores chain: " + def->getName().getStringRef())
            .str();
    return failure();
  }
}

/// Folds splat constant factors applied to `x` (q or k before q * k^T) into
/// `ops.scale` and returns the unscaled value.
Value peelTosaScale(Value x, ScoreOps &ops) {
  while (auto mul = x.getDefiningOp<tosa::MulOp>()) {
    std::optional<std::pair<double, Value>> scale = splitScale(mul);
    if (!scale || scale->second.getType() != x.getType())
      break;
    ops.scale *= scale->first;
    x = scale->second;
  }
  return x;
}

/// Raises the TOSA form of softmax(scale * q k^T [causal]) v, anchored on the
/// tosa.matmul with v, to fly.attention.
struct RaiseTosaSoftmaxAttention : OpRewritePattern<tosa::MatMulOp> {
  RaiseTosaSoftmaxAttention(MLIRContext *ctx, RemarkLog *log)
      : OpRewritePattern(ctx), log(log) {}

  LogicalResult matchAndRewrite(tosa::MatMulOp op,
                                PatternRewriter &rewriter) const override {
    // Candidates: matmuls whose lhs (behind batch reshapes) is a product of
    // two computed tensors, as a softmax's normaliser is (a scaled q, or a
    // weight, is not reported).
    Value probs = op.getA();
    while (isBatchReshape(probs))
      probs = probs.getDefiningOp()->getOperand(0);
    auto norm = probs.getDefiningOp<tosa::MulOp>();
    if (!norm || matchPattern(norm.getInput1(), m_Constant()) ||
        matchPattern(norm.getInput2(), m_Constant()))
      return rewriter.notifyMatchFailure(op, "lhs is not a computed product");

    Type element = getElementTypeOrSelf(op.getType());
    if (!llvm::all_of(
            TypeRange{op.getA().getType(), op.getB().getType(), op.getType()},
            [&](Type t) {
              return isFlyTensorType(t) && getElementTypeOrSelf(t) == element;
            }))
      return reject(rewriter, op, log,
                    "operands and result must be static tensors of one "
                    "element type: f32, f16 or bf16");
    if (!isZeroConstant(op.getAZp()) || !isZeroConstant(op.getBZp()))
      return reject(rewriter, op, log, "probs * v has non-zero zero points");

    std::string why;
    FailureOr<Value> logits = matchTosaSoftmax(norm, why);
    if (failed(logits))
      return reject(rewriter, op, log, why);
    ScoreOps ops;
    FailureOr<tosa::MatMulOp> qk = walkTosaScores(*logits, ops, why);
    if (failed(qk))
      return reject(rewriter, op, log, why);
    if (qk->getType() != op.getA().getType())
      return reject(rewriter, op, log,
                    "q * k^T and the probabilities have different shapes");
    if (!isZeroConstant(qk->getAZp()) || !isZeroConstant(qk->getBZp()))
      return reject(rewriter, op, log, "q * k^T has non-zero zero points");

    // k as [N, S, D]: the source of a [0, 2, 1] transpose, else transposed.
    Value q = peelTosaScale(qk->getA(), ops), k = qk->getB();
    auto t = k.getDefiningOp<tosa::TransposeOp>();
    bool transposeK = !(t && t.getPerms() == ArrayRef<int32_t>{0, 2, 1});
    if (!transposeK)
      k = peelTosaScale(t.getInput1(), ops);
    auto scoresType = cast<RankedTensorType>(op.getA().getType());
    if (ops.causal && scoresType.getDimSize(1) != scoresType.getDimSize(2))
      return reject(rewriter, op, log,
                    "a causal mask with S != T (fly.attention aligns it "
                    "bottom-right)");
    if (!(ops.scale > 0.0))
      return reject(rewriter, op, log,
                    llvm::formatv("the scale {0} is not positive", ops.scale));

    replaceWithAttention(rewriter, op, q, k, op.getB(), transposeK,
                         /*numBatch=*/1, ops, "tosa softmax", log);
    return success();
  }

  RemarkLog *log;
};

/// "raised attention B=1 H=4 T=128 S=128 D=16 (causal, scale 0.25, form)".
std::string describeAttention(Operation *op, StringRef form) {
  auto attention = cast<AttentionOp>(op);
  ArrayRef<int64_t> q =
      cast<RankedTensorType>(attention.getQ().getType()).getShape();
  ArrayRef<int64_t> k =
      cast<RankedTensorType>(attention.getK().getType()).getShape();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "raised attention B=" << q[0] << " H=" << q[1] << " T=" << q[2]
     << " S=" << k[2] << " D=" << q[3] << " ("
     << (attention.getCausal() ? "causal, " : "") << "scale "
     << llvm::format("%g", attention.getScaleOrDefault()) << ", " << form
     << ")";
  return text;
}

struct FlyRaiseAttentionPass
    : mlir::fly::impl::FlyRaiseAttentionBase<FlyRaiseAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
    RemarkLog log("not raised as attention: ");
    RemarkLog *logOrNull = remarks ? &log : nullptr;

    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseSoftmaxAttention, RaiseTosaSoftmaxAttention>(
        &getContext(), logOrNull);
    if (failed(applyRaisePatterns(root, std::move(patterns), logOrNull)))
      return signalPassFailure();
    if (logOrNull)
      log.emit(root, describeAttention);
  }
};
} // namespace

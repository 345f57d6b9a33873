//===- AttentionToLinalg.cpp - fly attention ops to linalg ------*- C++ -*-===//
//
// All attention ops compute in f32 on [B, H, T, S] score tensors (letters
// b, h, t, s; d = head dim, v = value dim, f = random feature). Which keys a
// query may see is a predicate on the loop indices t and s, evaluated inside
// the generics, so no mask tensor is materialised.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToLinalg/FlyToLinalg.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"
#include "fly/Utils/LinalgBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::fly;
using namespace mlir::fly::detail;

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

/// Which keys query t may see.
struct KeyRule {
  bool causal = false;
  int64_t window = 0; // 0: no local window
  int64_t offset = 0; // S - T, aligns the causal diagonal bottom-right

  /// i1: key s is allowed for query t (index values inside a generic body).
  Value allowed(OpBuilder &b, Location l, Value t, Value s) const {
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, l, v);
    };
    auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) -> Value {
      return arith::CmpIOp::create(b, l, p, x, y);
    };
    auto add = [&](Value x, int64_t c) -> Value {
      return arith::AddIOp::create(b, l, x, cst(c));
    };
    using P = arith::CmpIPredicate;
    if (window == 0) {
      if (!causal)
        return arith::ConstantIntOp::create(b, l, 1, 1);
      return cmp(P::sle, s, add(t, offset)); // s <= t + (S - T)
    }
    if (causal) // s in (t - w, t]
      return arith::AndIOp::create(b, l, cmp(P::sle, s, t),
                                   cmp(P::sgt, add(s, window), t));
    // s in [t - w/2, t - w/2 + w)
    Value shifted = add(s, window / 2);
    return arith::AndIOp::create(b, l, cmp(P::sge, shifted, t),
                                 cmp(P::slt, shifted, add(t, window)));
  }
};

int64_t dim(Value v, int64_t i) {
  return cast<RankedTensorType>(v.getType()).getDimSize(i);
}

Value constF32(OpBuilder &b, Location l, double v) {
  return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
}

/// scale * q k^T (+ mask), with disallowed keys set to -inf.
Value maskedScores(LinalgBuilder &lb, Value q, Value k, Value mask,
                   double scale, const KeyRule &rule) {
  Value scores = lb.einsum("bhtd,bhsd->bhts", q, k);
  SmallVector<Value> inputs = {scores};
  std::string spec = "bhts";
  if (mask) {
    // Right-aligned broadcast: a unit mask dim reads index 0.
    auto maskType = cast<RankedTensorType>(mask.getType());
    int64_t rank = maskType.getRank();
    spec += ",";
    for (int64_t i = 0; i < rank; ++i) {
      int64_t scoreDim = 4 - rank + i;
      bool broadcast =
          maskType.getDimSize(i) == 1 && dim(scores, scoreDim) != 1;
      spec.push_back(broadcast ? '0' : "bhts"[scoreDim]);
    }
    inputs.push_back(mask);
  }
  bool hasMask = bool(mask);
  return lb.generic(
      spec + "->bhts", inputs,
      lb.empty({dim(q, 0), dim(q, 1), dim(q, 2), dim(k, 2)}),
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value val = arith::MulFOp::create(b, l, a[0], constF32(b, l, scale));
        if (hasMask)
          val = arith::AddFOp::create(b, l, val, a[1]);
        Value ok =
            rule.allowed(b, l, lb.loopIndex(b, l, 2), lb.loopIndex(b, l, 3));
        return arith::SelectOp::create(b, l, ok, val, constF32(b, l, kNegInf));
      });
}

/// o = (w v) / rowsum(w) for non-negative weights w [B, H, T, S].
Value normalisedWeightedSum(LinalgBuilder &lb, Value weights, Value v) {
  ArrayRef<int64_t> ws = cast<RankedTensorType>(weights.getType()).getShape();
  Value den =
      lb.generic("bhts->bht", {weights}, lb.filled({ws[0], ws[1], ws[2]}, 0.0),
                 [](OpBuilder &b, Location l, ValueRange a) -> Value {
                   return arith::AddFOp::create(b, l, a[0], a[1]);
                 });
  Value num = lb.einsum("bhts,bhsv->bhtv", weights, v);
  return lb.generic("bhtv,bht->bhtv", {num, den}, num,
                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                      return arith::DivFOp::create(b, l, a[0], a[1]);
                    });
}

/// Exact softmax over the (masked) scores, then the weighted sum of v.
Value softmaxAttention(LinalgBuilder &lb, Value scores, Value v) {
  ArrayRef<int64_t> ss = cast<RankedTensorType>(scores.getType()).getShape();
  Value rowMax = lb.generic(
      "bhts->bht", {scores}, lb.filled({ss[0], ss[1], ss[2]}, kNegInf),
      [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::MaximumFOp::create(b, l, a[0], a[1]);
      });
  Value weights =
      lb.generic("bhts,bht->bhts", {scores, rowMax}, lb.empty(ss),
                 [](OpBuilder &b, Location l, ValueRange a) -> Value {
                   return math::ExpOp::create(
                       b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                 });
  return normalisedWeightedSum(lb, weights, v);
}

/// Stabilised Performer features of x [B, H, N, D] (letter n for N):
/// returns phiHat = exp(log phi - stab) and stab, where log phi(x)_f =
/// c * proj_f . x - c^2 |x|^2 / 2 - ln(m) / 2 and c = sqrt(scale). The
/// stabiliser is a max per row (`perRow`) or per (b, h).
std::pair<Value, Value> performerFeatures(LinalgBuilder &lb, Value x,
                                          Value proj, double scale,
                                          bool perRow) {
  int64_t b = dim(x, 0), h = dim(x, 1), n = dim(x, 2), m = dim(proj, 0);
  double c = std::sqrt(scale), halfLogM = 0.5 * std::log(double(m));
  Value dots = lb.einsum("bhnd,fd->bhnf", x, proj);
  Value sq = lb.generic("bhnd->bhn", {x}, lb.filled({b, h, n}, 0.0),
                        [](OpBuilder &bb, Location l, ValueRange a) -> Value {
                          Value p = arith::MulFOp::create(bb, l, a[0], a[0]);
                          return arith::AddFOp::create(bb, l, a[1], p);
                        });
  Value logPhi = lb.generic(
      "bhnf,bhn->bhnf", {dots, sq}, lb.empty({b, h, n, m}),
      [&](OpBuilder &bb, Location l, ValueRange a) -> Value {
        Value lin = arith::MulFOp::create(bb, l, a[0], constF32(bb, l, c));
        Value quad =
            arith::MulFOp::create(bb, l, a[1], constF32(bb, l, c * c / 2));
        Value v = arith::SubFOp::create(bb, l, lin, quad);
        return arith::SubFOp::create(bb, l, v, constF32(bb, l, halfLogM));
      });
  auto maxBody = [](OpBuilder &bb, Location l, ValueRange a) -> Value {
    return arith::MaximumFOp::create(bb, l, a[0], a[1]);
  };
  auto expDiff = [](OpBuilder &bb, Location l, ValueRange a) -> Value {
    return math::ExpOp::create(bb, l, arith::SubFOp::create(bb, l, a[0], a[1]));
  };
  if (perRow) {
    Value stab = lb.generic("bhnf->bhn", {logPhi},
                            lb.filled({b, h, n}, kNegInf), maxBody);
    Value phi = lb.generic("bhnf,bhn->bhnf", {logPhi, stab},
                           lb.empty({b, h, n, m}), expDiff);
    return {phi, stab};
  }
  Value stab =
      lb.generic("bhnf->bh", {logPhi}, lb.filled({b, h}, kNegInf), maxBody);
  Value phi = lb.generic("bhnf,bh->bhnf", {logPhi, stab},
                         lb.empty({b, h, n, m}), expDiff);
  return {phi, stab};
}

/// Weights restricted to allowed keys (others zero).
Value applyRule(LinalgBuilder &lb, Value weights, const KeyRule &rule) {
  return lb.generic(
      "bhts->bhts", {weights}, weights,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value ok =
            rule.allowed(b, l, lb.loopIndex(b, l, 2), lb.loopIndex(b, l, 3));
        return arith::SelectOp::create(b, l, ok, a[0], constF32(b, l, 0.0));
      });
}

Value lowerPerformer(LinalgBuilder &lb, Value q, Value k, Value v, Value proj,
                     double scale, const KeyRule &rule) {
  // The stabilisers multiply numerator and denominator alike: they cancel.
  Value phiQ = performerFeatures(lb, q, proj, scale, /*perRow=*/true).first;
  Value phiK = performerFeatures(lb, k, proj, scale, /*perRow=*/false).first;
  if (rule.causal) {
    // Prefix sums written as a masked quadratic form: O(T*S*m), exact.
    Value f = lb.einsum("bhtf,bhsf->bhts", phiQ, phiK);
    return normalisedWeightedSum(lb, applyRule(lb, f, rule), v);
  }
  // Linear time: phi(Q) (phi(K)^T V) / (phi(Q) sum_s phi(k_s)).
  int64_t b = dim(q, 0), h = dim(q, 1), m = dim(proj, 0);
  Value kv = lb.einsum("bhsf,bhsv->bhfv", phiK, v);
  Value kSum = lb.generic("bhsf->bhf", {phiK}, lb.filled({b, h, m}, 0.0),
                          [](OpBuilder &bb, Location l, ValueRange a) -> Value {
                            return arith::AddFOp::create(bb, l, a[0], a[1]);
                          });
  Value num = lb.einsum("bhtf,bhfv->bhtv", phiQ, kv);
  Value den = lb.einsum("bhtf,bhf->bht", phiQ, kSum);
  return lb.generic("bhtv,bht->bhtv", {num, den}, num,
                    [](OpBuilder &bb, Location l, ValueRange a) -> Value {
                      return arith::DivFOp::create(bb, l, a[0], a[1]);
                    });
}

/// Inside the window the Performer term cancels against its correction, so
/// the weight is exp(s) there and phi(q).phi(k) elsewhere; both are scaled by
/// exp(-c_t), c_t = max(max window score, log-scale of the features).
Value lowerScatterbrain(LinalgBuilder &lb, Value q, Value k, Value v,
                        Value proj, double scale, const KeyRule &window,
                        const KeyRule &all) {
  auto [phiQ, stabQ] = performerFeatures(lb, q, proj, scale, true);
  auto [phiK, stabK] = performerFeatures(lb, k, proj, scale, false);
  Value f = lb.einsum("bhtf,bhsf->bhts", phiQ, phiK);
  Value scores = lb.einsum("bhtd,bhsd->bhts", q, k);
  ArrayRef<int64_t> ss = cast<RankedTensorType>(scores.getType()).getShape();
  // featureLog[t] = stabQ[t] + stabK: f * exp(featureLog) is phi(q).phi(k).
  Value featureLog =
      lb.generic("bht,bh->bht", {stabQ, stabK}, lb.empty({ss[0], ss[1], ss[2]}),
                 [](OpBuilder &b, Location l, ValueRange a) -> Value {
                   return arith::AddFOp::create(b, l, a[0], a[1]);
                 });
  Value rowMax = lb.generic(
      "bhts->bht", {scores}, featureLog,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value s = arith::MulFOp::create(b, l, a[0], constF32(b, l, scale));
        Value ok =
            window.allowed(b, l, lb.loopIndex(b, l, 2), lb.loopIndex(b, l, 3));
        Value mx = arith::MaximumFOp::create(b, l, a[1], s);
        return arith::SelectOp::create(b, l, ok, mx, a[1]);
      });
  Value weights = lb.generic(
      "bhts,bhts,bht,bht->bhts", {scores, f, rowMax, featureLog}, lb.empty(ss),
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value t = lb.loopIndex(b, l, 2), s = lb.loopIndex(b, l, 3);
        Value scaled = arith::MulFOp::create(b, l, a[0], constF32(b, l, scale));
        Value exact = math::ExpOp::create(
            b, l, arith::SubFOp::create(b, l, scaled, a[2]));
        Value lowRank = arith::MulFOp::create(
            b, l, a[1],
            math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a[3], a[2])));
        Value outside = arith::SelectOp::create(b, l, all.allowed(b, l, t, s),
                                                lowRank, constF32(b, l, 0.0));
        return arith::SelectOp::create(b, l, window.allowed(b, l, t, s), exact,
                                       outside);
      });
  return normalisedWeightedSum(lb, weights, v);
}

/// Shared shell: cast to f32, compute, cast back.
template <typename OpTy> struct AttentionLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    LinalgBuilder lb(rewriter, op.getLoc());
    Type f32 = rewriter.getF32Type();
    SmallVector<Value> in;
    for (Value v : op->getOperands())
      in.push_back(lb.castElements(v, f32));
    KeyRule rule;
    rule.causal = op.getCausal();
    rule.offset = dim(in[1], 2) - dim(in[0], 2);
    Value out = compute(op, lb, in, rule);
    Type elementType = op.getType().getElementType();
    rewriter.replaceOp(op, lb.castElements(out, elementType));
    return success();
  }

  Value compute(AttentionOp op, LinalgBuilder &lb, ArrayRef<Value> in,
                KeyRule rule) const {
    Value mask = op.getMask() ? in[3] : Value();
    return softmaxAttention(
        lb, maskedScores(lb, in[0], in[1], mask, op.getScaleOrDefault(), rule),
        in[2]);
  }
  Value compute(LocalAttentionOp op, LinalgBuilder &lb, ArrayRef<Value> in,
                KeyRule rule) const {
    rule.window = op.getWindow();
    return softmaxAttention(
        lb,
        maskedScores(lb, in[0], in[1], Value(), op.getScaleOrDefault(), rule),
        in[2]);
  }
  Value compute(PerformerAttentionOp op, LinalgBuilder &lb, ArrayRef<Value> in,
                KeyRule rule) const {
    return lowerPerformer(lb, in[0], in[1], in[2], in[3],
                          op.getScaleOrDefault(), rule);
  }
  Value compute(ScatterbrainAttentionOp op, LinalgBuilder &lb,
                ArrayRef<Value> in, KeyRule rule) const {
    KeyRule window = rule;
    window.window = op.getWindow();
    return lowerScatterbrain(lb, in[0], in[1], in[2], in[3],
                             op.getScaleOrDefault(), window, rule);
  }
};
} // namespace

void mlir::fly::populateFlyAttentionToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns
      .add<AttentionLowering<AttentionOp>, AttentionLowering<LocalAttentionOp>,
           AttentionLowering<PerformerAttentionOp>,
           AttentionLowering<ScatterbrainAttentionOp>>(patterns.getContext());
}

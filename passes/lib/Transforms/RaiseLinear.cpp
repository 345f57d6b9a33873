//===- RaiseLinear.cpp - dense layers to fly.linear -------------*- C++ -*-===//
//
// fly-raise-linear: 2-D contractions (linalg) and unbatched tosa.matmul with
// a weight become fly.linear, a following broadcast bias add (linalg.generic
// or tosa.add) becomes its bias operand, and linear -> GELU -> linear chains
// (one linalg.generic or TOSA elementwise ops) are marked as MLPs. Each
// pattern is a guard chain; every check after "this is a candidate" records
// its reason for --remarks.
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

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

namespace mlir::fly {
#define GEN_PASS_DEF_FLYRAISELINEAR
#include "fly/Transforms/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
using namespace mlir::fly;
using namespace mlir::fly::detail;

namespace {
constexpr StringLiteral kMlpRole = "fly.mlp";
constexpr StringLiteral kMlpId = "fly.mlp_id";
constexpr StringLiteral kActivation = "fly.activation";

/// Raises `y = x * W` (a 2-D contraction into zeros, W a weight) to
/// `fly.linear x, w` with w = W^T as fly.linear wants it [N, K].
struct RaiseContractionToLinear : OpInterfaceRewritePattern<linalg::LinalgOp> {
  RaiseContractionToLinear(MLIRContext *ctx, bool requireConstantWeight,
                           RemarkLog *log)
      : OpInterfaceRewritePattern(ctx),
        requireConstantWeight(requireConstantWeight), log(log) {}

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    // Candidates are unbatched contractions; other ops are not reported.
    std::string why;
    FailureOr<Contraction> c = matchContraction(op, why);
    if (failed(c))
      return rewriter.notifyMatchFailure(op, why);
    if (c->numBatch != 0)
      return rewriter.notifyMatchFailure(op, "batched contraction");

    if (c->lhsTransposed)
      return reject(rewriter, op, log,
                    "activation is indexed [k, m] (needs a transpose)");
    if (!isZeroTensor(c->init))
      return reject(rewriter, op, log,
                    "accumulator is not zero (y = C + x * W)");
    if (requireConstantWeight && !isConstantWeight(c->rhs))
      return reject(rewriter, op, log,
                    isConstantWeight(c->lhs)
                        ? "the constant is on the left (W * x)"
                        : "rhs is not a constant weight (activation product)");

    // fly.linear takes w as [N, K]: B itself when indexed [n, k]; the source
    // of a transposed [N, K] weight (nn.Linear); else a new transpose of the
    // [K, N] weight (GPT-2 Conv1D), which constant folding can fold later.
    Location loc = op.getLoc();
    Value w;
    StringRef form;
    auto t = c->rhs.getDefiningOp<linalg::TransposeOp>();
    if (c->rhsTransposed) {
      w = c->rhs;
      form = "transposed weight";
    } else if (t && t.getPermutation() == ArrayRef<int64_t>{1, 0}) {
      w = t.getInput();
      form = "nn.Linear";
    } else {
      auto kn = cast<RankedTensorType>(c->rhs.getType());
      Value empty = tensor::EmptyOp::create(
          rewriter, loc, {kn.getDimSize(1), kn.getDimSize(0)},
          kn.getElementType());
      w = linalg::TransposeOp::create(rewriter, loc, c->rhs, empty,
                                      ArrayRef<int64_t>{1, 0})
              .getResult()[0];
      form = "Conv1D";
    }
    auto linear = LinearOp::create(rewriter, loc, op->getResultTypes()[0],
                                   c->lhs, w, /*bias=*/Value());
    if (log)
      log->raised(linear, form);
    rewriter.replaceOp(op, linear);
    return success();
  }

  bool requireConstantWeight;
  RemarkLog *log;
};

/// Folds `linear(x, w) + bias` (a broadcast add over the last dimension of a
/// 1-D weight) into `fly.linear x, w, bias`.
struct FoldBiasIntoLinear : OpRewritePattern<linalg::GenericOp> {
  FoldBiasIntoLinear(MLIRContext *ctx, bool requireConstantWeight,
                     RemarkLog *log)
      : OpRewritePattern(ctx), requireConstantWeight(requireConstantWeight),
        log(log) {}

  LogicalResult matchAndRewrite(linalg::GenericOp add,
                                PatternRewriter &rewriter) const override {
    // Candidates: two-input generics reading a bias-free fly.linear.
    if (add.getNumDpsInputs() != 2 || add.getNumDpsInits() != 1 ||
        add->getNumResults() != 1)
      return rewriter.notifyMatchFailure(add, "not a binary generic");
    unsigned linIdx = 0;
    LinearOp linear;
    for (unsigned i = 0; i < 2 && !linear; ++i)
      if ((linear = add.getDpsInputOperand(i)->get().getDefiningOp<LinearOp>()))
        linIdx = i;
    if (!linear || linear.getBias())
      return rewriter.notifyMatchFailure(add, "no bias-free fly.linear input");

    unsigned biasIdx = 1 - linIdx;
    Value bias = add.getDpsInputOperand(biasIdx)->get();
    auto yType = cast<RankedTensorType>(linear.getType());
    unsigned rank = yType.getRank();
    if (!linear->hasOneUse())
      return reject(rewriter, add, log, "linear result has other users");
    if (add.getNumParallelLoops() != rank ||
        add->getResult(0).getType() != yType)
      return reject(rewriter, add, log, "not elementwise over the linear");

    SmallVector<AffineMap> maps = add.getIndexingMapsArray();
    AffineMap lastDim =
        AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, add.getContext()));
    if (!maps[linIdx].isIdentity() || !maps[2].isIdentity() ||
        maps[biasIdx] != lastDim)
      return reject(rewriter, add, log,
                    "bias is not broadcast along the output features");
    auto biasType = dyn_cast<RankedTensorType>(bias.getType());
    if (!biasType || biasType.getRank() != 1 ||
        biasType.getDimSize(0) != yType.getDimSize(rank - 1) ||
        biasType.getElementType() != yType.getElementType())
      return reject(rewriter, add, log, "bias is not [N] of the linear's type");

    // The body must be exactly `yield(addf(linear, bias))`.
    Block &body = add.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    auto addf = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
    if (!addf || addf->getBlock() != &body || body.getOperations().size() != 2)
      return reject(rewriter, add, log, "body is not a single addf");
    Value a = addf.getLhs(), b = addf.getRhs();
    Value argLin = body.getArgument(linIdx),
          argBias = body.getArgument(biasIdx);
    if (!((a == argLin && b == argBias) || (a == argBias && b == argLin)))
      return reject(rewriter, add, log, "body does not add linear and bias");
    if (requireConstantWeight && !isConstantWeight(bias))
      return reject(rewriter, add, log, "bias is not a constant");

    auto biased = LinearOp::create(rewriter, linear.getLoc(), yType,
                                   linear.getX(), linear.getW(), bias);
    if (log)
      log->raised(biased, log->raisedForm(linear));
    rewriter.replaceOp(add, biased);
    return success();
  }

  bool requireConstantWeight;
  RemarkLog *log;
};

/// [A, B] from the [1, A, B] `x`: the source of a tosa.reshape from [A, B],
/// else a collapse_shape.
Value dropUnitBatch(PatternRewriter &rewriter, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  if (auto reshape = x.getDefiningOp<tosa::ReshapeOp>()) {
    Value src = reshape.getInput1();
    if (cast<RankedTensorType>(src.getType()).getShape() ==
        type.getShape().drop_front())
      return src;
  }
  return tensor::CollapseShapeOp::create(
      rewriter, loc, x, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
}

/// True if `v` is a tosa.transpose with permutation `perms`.
tosa::TransposeOp getTosaTranspose(Value v, ArrayRef<int32_t> perms) {
  auto t = v.getDefiningOp<tosa::TransposeOp>();
  return t && t.getPerms() == perms ? t : tosa::TransposeOp();
}

/// Raises `y = tosa.matmul x[1, M, K], W[1, K, N]` (zero points 0, W a
/// weight) to `fly.linear x, w` on the 3-D x, with w = W^T as [N, K].
struct RaiseTosaMatmulToLinear : OpRewritePattern<tosa::MatMulOp> {
  RaiseTosaMatmulToLinear(MLIRContext *ctx, bool requireConstantWeight,
                          RemarkLog *log)
      : OpRewritePattern(ctx), requireConstantWeight(requireConstantWeight),
        log(log) {}

  LogicalResult matchAndRewrite(tosa::MatMulOp op,
                                PatternRewriter &rewriter) const override {
    // Candidates: unbatched matmuls (batch 1); batched ones are attention.
    auto aType = dyn_cast<RankedTensorType>(op.getA().getType());
    if (!aType || aType.isDynamicDim(0) || aType.getDimSize(0) != 1)
      return rewriter.notifyMatchFailure(op, "batched matmul");

    Type element = aType.getElementType();
    if (!llvm::all_of(
            TypeRange{op.getA().getType(), op.getB().getType(), op.getType()},
            [&](Type t) {
              return isFlyTensorType(t) && getElementTypeOrSelf(t) == element;
            }))
      return reject(rewriter, op, log,
                    "operands and result must be static tensors of one "
                    "element type: f32, f16 or bf16");
    if (!isZeroConstant(op.getAZp()) || !isZeroConstant(op.getBZp()))
      return reject(rewriter, op, log, "zero points are not 0");
    if (requireConstantWeight && !isConstantWeight(op.getB()))
      return reject(rewriter, op, log,
                    isConstantWeight(op.getA())
                        ? "the constant is on the left (W * x)"
                        : "rhs is not a constant weight (activation product)");

    // w as [N, K]: the source of a [0, 2, 1] transpose of [1, N, K], or of
    // an [N, K] weight transposed [1, 0] and reshaped (nn.Linear); else a
    // new transpose of the [K, N] weight.
    Location loc = op.getLoc();
    Value b = op.getB(), w;
    StringRef form;
    auto reshape = b.getDefiningOp<tosa::ReshapeOp>();
    if (auto t = getTosaTranspose(b, {0, 2, 1})) {
      w = dropUnitBatch(rewriter, loc, t.getInput1());
      form = "tosa.matmul, nn.Linear";
    } else if (auto t2 = reshape ? getTosaTranspose(reshape.getInput1(), {1, 0})
                                 : tosa::TransposeOp();
               t2 && cast<RankedTensorType>(t2.getType()).getShape() ==
                         cast<RankedTensorType>(b.getType())
                             .getShape()
                             .drop_front()) {
      w = t2.getInput1();
      form = "tosa.matmul, nn.Linear";
    } else {
      Value kn = dropUnitBatch(rewriter, loc, b);
      auto knType = cast<RankedTensorType>(kn.getType());
      Value empty = tensor::EmptyOp::create(
          rewriter, loc, {knType.getDimSize(1), knType.getDimSize(0)}, element);
      w = linalg::TransposeOp::create(rewriter, loc, kn, empty,
                                      ArrayRef<int64_t>{1, 0})
              .getResult()[0];
      form = "tosa.matmul, [K, N] weight";
    }
    auto linear =
        LinearOp::create(rewriter, loc, op.getType(), op.getA(), w, Value());
    if (log)
      log->raised(linear, form);
    rewriter.replaceOp(op, linear);
    return success();
  }

  bool requireConstantWeight;
  RemarkLog *log;
};

/// Folds `tosa.add(linear(x, w), bias)` with bias [1, .., 1, N] (broadcast
/// along the output features) into `fly.linear x, w, bias` (bias as [N]).
struct FoldTosaBiasIntoLinear : OpRewritePattern<tosa::AddOp> {
  FoldTosaBiasIntoLinear(MLIRContext *ctx, bool requireConstantWeight,
                         RemarkLog *log)
      : OpRewritePattern(ctx), requireConstantWeight(requireConstantWeight),
        log(log) {}

  LogicalResult matchAndRewrite(tosa::AddOp add,
                                PatternRewriter &rewriter) const override {
    // Candidates: adds reading a bias-free fly.linear.
    unsigned linIdx = 0;
    LinearOp linear;
    for (unsigned i = 0; i < 2 && !linear; ++i)
      if ((linear = add->getOperand(i).getDefiningOp<LinearOp>()))
        linIdx = i;
    if (!linear || linear.getBias())
      return rewriter.notifyMatchFailure(add, "no bias-free fly.linear input");

    Value bias = add->getOperand(1 - linIdx);
    auto yType = cast<RankedTensorType>(linear.getType());
    if (!linear->hasOneUse())
      return reject(rewriter, add, log, "linear result has other users");
    if (add.getType() != yType)
      return reject(rewriter, add, log, "the add broadcasts the linear");
    auto biasType = dyn_cast<RankedTensorType>(bias.getType());
    if (!biasType || biasType.getRank() != yType.getRank() ||
        biasType.getElementType() != yType.getElementType() ||
        biasType.getShape().back() != yType.getShape().back() ||
        !llvm::all_of(biasType.getShape().drop_back(),
                      [](int64_t d) { return d == 1; }))
      return reject(rewriter, add, log,
                    "bias is not [1, .., 1, N] (broadcast along the output "
                    "features)");
    if (requireConstantWeight && !isConstantWeight(bias))
      return reject(rewriter, add, log, "bias is not a constant");

    // The bias as [N]: the source of a reshape from [N], else collapsed.
    Location loc = add.getLoc();
    Value bias1D = bias;
    auto reshape = bias.getDefiningOp<tosa::ReshapeOp>();
    if (biasType.getRank() == 1) {
      bias1D = bias;
    } else if (reshape && cast<RankedTensorType>(reshape.getInput1().getType())
                                  .getRank() == 1) {
      bias1D = reshape.getInput1();
    } else {
      ReassociationIndices all = llvm::to_vector(
          llvm::seq<int64_t>(0, static_cast<int64_t>(biasType.getRank())));
      bias1D = tensor::CollapseShapeOp::create(
          rewriter, loc, bias, ArrayRef<ReassociationIndices>{all});
    }
    auto biased = LinearOp::create(rewriter, linear.getLoc(), yType,
                                   linear.getX(), linear.getW(), bias1D);
    if (log)
      log->raised(biased, log->raisedForm(linear));
    rewriter.replaceOp(add, biased);
    return success();
  }

  bool requireConstantWeight;
  RemarkLog *log;
};

/// Evaluates the scalar body of a one-input elementwise generic at `x`, in
/// double. Fails on an op outside a small arithmetic set (or on a use of the
/// output block argument), so unrelated bodies never evaluate.
std::optional<double> evaluateBody(linalg::GenericOp g, double x) {
  Block &body = g.getRegion().front();
  DenseMap<Value, double> values;
  values[body.getArgument(0)] = x;
  auto get = [&](Value v) -> std::optional<double> {
    if (auto it = values.find(v); it != values.end())
      return it->second;
    APInt i;
    if (matchPattern(v, m_ConstantInt(&i)))
      return double(i.getSExtValue());
    return getScalarConstant(v);
  };
  for (Operation &op : body.without_terminator()) {
    if (op.getNumResults() != 1)
      return std::nullopt;
    if (auto c = get(op.getResult(0))) { // constants defined in the body
      values[op.getResult(0)] = *c;
      continue;
    }
    SmallVector<double, 2> a;
    for (Value operand : op.getOperands()) {
      std::optional<double> v = get(operand);
      if (!v)
        return std::nullopt;
      a.push_back(*v);
    }
    std::optional<double> r =
        llvm::TypeSwitch<Operation *, std::optional<double>>(&op)
            .Case([&](arith::AddFOp) { return a[0] + a[1]; })
            .Case([&](arith::SubFOp) { return a[0] - a[1]; })
            .Case([&](arith::MulFOp) { return a[0] * a[1]; })
            .Case([&](arith::DivFOp) { return a[0] / a[1]; })
            .Case([&](arith::NegFOp) { return -a[0]; })
            .Case<arith::ExtFOp, arith::TruncFOp>([&](auto) { return a[0]; })
            .Case([&](math::TanhOp) { return std::tanh(a[0]); })
            .Case([&](math::ErfOp) { return std::erf(a[0]); })
            .Case([&](math::ExpOp) { return std::exp(a[0]); })
            .Case([&](math::SqrtOp) { return std::sqrt(a[0]); })
            .Case([&](math::RsqrtOp) { return 1.0 / std::sqrt(a[0]); })
            .Case<math::PowFOp, math::FPowIOp>(
                [&](auto) { return std::pow(a[0], a[1]); })
            .Default([](Operation *) { return std::nullopt; });
    if (!r)
      return std::nullopt;
    values[op.getResult(0)] = *r;
  }
  return get(cast<linalg::YieldOp>(body.getTerminator()).getOperand(0));
}

/// Classifies a scalar function `eval` that contains a tanh (`hasTanh`) or
/// an erf (`hasErf`), not both, as "gelu_tanh" for
/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) or "gelu_erf" for
/// 0.5 x (1 + erf(x / sqrt(2))), by evaluating it at a few points against the
/// formula (relative 1e-5): so any algebraically equal arrangement matches
/// (0.5 * x or x * 0.5, x^3 as x * x * x or powf, distributed constants),
/// while the two forms, which differ by up to ~2e-4, and other activations do
/// not.
std::optional<StringRef>
classifyGelu(bool hasTanh, bool hasErf,
             function_ref<std::optional<double>(double)> eval) {
  if (hasTanh == hasErf)
    return std::nullopt;
  auto reference = [&](double x) {
    if (hasTanh)
      return 0.5 * x *
             (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  };
  for (double x : {-4.0, -2.0, -1.0, -0.5, -0.1, 0.3, 1.0, 1.7, 3.0}) {
    std::optional<double> got = eval(x);
    double want = reference(x);
    if (!got || std::abs(*got - want) > 1e-5 * (1 + std::abs(want)))
      return std::nullopt;
  }
  return hasTanh ? StringRef("gelu_tanh") : StringRef("gelu_erf");
}

/// Recognises GELU in an elementwise `linalg.generic` (see classifyGelu):
/// the generic must have one input and one output of the same type with
/// identity maps, and a body containing a math.tanh (or math.erf) built from
/// arith/math ops only.
std::optional<StringRef> matchGelu(linalg::GenericOp g) {
  if (g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
      g->getNumResults() != 1 || g.getNumParallelLoops() != g.getNumLoops() ||
      !llvm::all_of(g.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }) ||
      g.getDpsInputOperand(0)->get().getType() != g->getResult(0).getType())
    return std::nullopt;
  bool hasTanh = false, hasErf = false;
  g.getRegion().walk([&](Operation *op) {
    hasTanh |= isa<math::TanhOp>(op);
    hasErf |= isa<math::ErfOp>(op);
  });
  return classifyGelu(hasTanh, hasErf,
                      [&](double x) { return evaluateBody(g, x); });
}

/// The operands of a TOSA elementwise op that carry data (not tosa.mul's
/// shift, tosa.negate's zero points or tosa.reshape's shape); empty for ops
/// that are not elementwise.
SmallVector<Value, 2> tosaDataOperands(Operation *op) {
  if (isa<tosa::MulOp>(op))
    return {op->getOperand(0), op->getOperand(1)};
  if (isa<tosa::ReshapeOp, tosa::CastOp, tosa::NegateOp>(op))
    return {op->getOperand(0)};
  if (op->hasTrait<OpTrait::tosa::TosaElementwiseOperator>())
    return llvm::to_vector<2>(op->getOperands());
  return {};
}

/// Collects into `chain` the TOSA elementwise ops (and reshapes) that
/// compute `v` from constants and one fly.linear, which it returns; null if
/// `v` is computed from anything else.
LinearOp collectTosaChain(Value v, SetVector<Operation *> &chain) {
  LinearOp source;
  bool ok = true;
  std::function<void(Value)> visit = [&](Value x) {
    if (!ok)
      return;
    if (auto linear = x.getDefiningOp<LinearOp>()) {
      ok = !source || source == linear;
      source = linear;
      return;
    }
    if (matchPattern(x, m_Constant()))
      return;
    Operation *def = x.getDefiningOp();
    SmallVector<Value, 2> operands =
        def ? tosaDataOperands(def) : SmallVector<Value, 2>();
    if (operands.empty() || def->getNumResults() != 1) {
      ok = false;
      return;
    }
    if (chain.insert(def))
      llvm::for_each(operands, visit);
  };
  visit(v);
  return ok ? source : LinearOp();
}

/// Evaluates the TOSA chain computing `v` as a scalar function of `in` at
/// `x`, in double; constants must be splats. Fails on an op outside a small
/// arithmetic set.
std::optional<double> evaluateTosa(Value v, Value in, double x,
                                   DenseMap<Value, double> &memo) {
  if (v == in)
    return x;
  if (auto it = memo.find(v); it != memo.end())
    return it->second;
  if (std::optional<double> c = getSplatConstant(v))
    return c;
  Operation *op = v.getDefiningOp();
  SmallVector<Value, 2> operands =
      op ? tosaDataOperands(op) : SmallVector<Value, 2>();
  if (operands.empty())
    return std::nullopt;
  SmallVector<double, 2> a;
  for (Value operand : operands) {
    std::optional<double> r = evaluateTosa(operand, in, x, memo);
    if (!r)
      return std::nullopt;
    a.push_back(*r);
  }
  std::optional<double> r =
      llvm::TypeSwitch<Operation *, std::optional<double>>(op)
          .Case([&](tosa::AddOp) { return a[0] + a[1]; })
          .Case([&](tosa::SubOp) { return a[0] - a[1]; })
          .Case([&](tosa::MulOp) { return a[0] * a[1]; })
          .Case([&](tosa::PowOp) { return std::pow(a[0], a[1]); })
          .Case([&](tosa::NegateOp) { return -a[0]; })
          .Case<tosa::ReshapeOp, tosa::CastOp>([&](auto) { return a[0]; })
          .Case([&](tosa::TanhOp) { return std::tanh(a[0]); })
          .Case([&](tosa::ErfOp) { return std::erf(a[0]); })
          .Case([&](tosa::ExpOp) { return std::exp(a[0]); })
          .Case([&](tosa::ReciprocalOp) { return 1.0 / a[0]; })
          .Case([&](tosa::RsqrtOp) { return 1.0 / std::sqrt(a[0]); })
          .Default([](Operation *) { return std::nullopt; });
  if (r)
    memo[v] = *r;
  return r;
}

/// Recognises GELU computed by the TOSA elementwise ops `chain` from `in` to
/// `out` (see classifyGelu).
std::optional<StringRef> matchTosaGelu(const SetVector<Operation *> &chain,
                                       Value in, Value out) {
  bool hasTanh = llvm::any_of(chain, llvm::IsaPred<tosa::TanhOp>);
  bool hasErf = llvm::any_of(chain, llvm::IsaPred<tosa::ErfOp>);
  return classifyGelu(hasTanh, hasErf, [&](double x) {
    DenseMap<Value, double> memo;
    return evaluateTosa(out, in, x, memo);
  });
}

/// Marks `fly.linear -> GELU -> fly.linear` chains, in program order, with
/// fly.mlp = "up" / "down", a shared fly.mlp_id and the up projection's
/// fly.activation. Runs after the rewrites so ids follow program order.
void markMlps(Operation *root, RemarkLog *log) {
  int64_t nextId = 0;
  root->walk([&](LinearOp op) {
    if (auto id = op->getAttrOfType<IntegerAttr>(kMlpId))
      nextId = std::max(nextId, id.getInt() + 1);
  });
  root->walk([&](LinearOp down) {
    // Candidates: a linear reading an elementwise generic of a linear, or
    // TOSA elementwise ops computing its input from one linear.
    Value x = down.getX();
    Operation *act = x.getDefiningOp();
    if (down->hasAttr(kMlpRole) || !act)
      return;
    LinearOp up;
    std::optional<StringRef> gelu;
    bool hiddenUsedElsewhere = false;
    if (auto g = dyn_cast<linalg::GenericOp>(act)) {
      if (g.getNumDpsInputs() != 1 ||
          !(up = g.getDpsInputOperand(0)->get().getDefiningOp<LinearOp>()))
        return;
      gelu = matchGelu(g);
      hiddenUsedElsewhere = !up->hasOneUse() || !g->hasOneUse();
    } else if (isa<tosa::TosaDialect>(act->getDialect())) {
      SetVector<Operation *> chain;
      if (!(up = collectTosaChain(x, chain)))
        return;
      gelu = matchTosaGelu(chain, up.getResult(), x);
      // Every intermediate stays inside the chain; its result feeds `down`.
      auto inChain = [&](Operation *user) { return chain.contains(user); };
      hiddenUsedElsewhere =
          !act->hasOneUse() || !llvm::all_of(up->getUsers(), inChain) ||
          llvm::any_of(chain, [&](Operation *op) {
            return op != act && !llvm::all_of(op->getUsers(), inChain);
          });
    } else {
      return;
    }
    auto note = [&](const Twine &why) {
      if (log)
        log->note(down, "not an MLP down projection: " + why);
    };
    if (up->hasAttr(kMlpRole))
      return note("the up projection is already marked");
    if (!gelu)
      return note("the activation is not GELU (tanh or erf form)");
    if (hiddenUsedElsewhere)
      return note("the hidden activations have other users");

    MLIRContext *ctx = root->getContext();
    auto id = IntegerAttr::get(IntegerType::get(ctx, 64), nextId++);
    up->setAttr(kMlpRole, StringAttr::get(ctx, "up"));
    up->setAttr(kActivation, StringAttr::get(ctx, *gelu));
    up->setAttr(kMlpId, id);
    down->setAttr(kMlpRole, StringAttr::get(ctx, "down"));
    down->setAttr(kMlpId, id);
  });
}

/// "raised linear KxN (form, bias, mlp up #id gelu_tanh)".
std::string describeLinear(Operation *op, StringRef form) {
  auto linear = cast<LinearOp>(op);
  auto x = cast<RankedTensorType>(linear.getX().getType());
  auto y = cast<RankedTensorType>(linear.getType());
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "raised linear " << x.getShape().back() << "x" << y.getShape().back()
     << " (" << form;
  if (linear.getBias())
    os << ", bias";
  if (auto role = op->getAttrOfType<StringAttr>(kMlpRole)) {
    os << ", mlp " << role.getValue();
    if (auto id = op->getAttrOfType<IntegerAttr>(kMlpId))
      os << " #" << id.getInt();
    if (auto act = op->getAttrOfType<StringAttr>(kActivation))
      os << " " << act.getValue();
  }
  os << ")";
  return text;
}

struct FlyRaiseLinearPass
    : mlir::fly::impl::FlyRaiseLinearBase<FlyRaiseLinearPass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
    RemarkLog log("not raised as linear: ");
    RemarkLog *logOrNull = remarks ? &log : nullptr;

    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseContractionToLinear, FoldBiasIntoLinear,
                 RaiseTosaMatmulToLinear, FoldTosaBiasIntoLinear>(
        &getContext(), requireConstantWeight, logOrNull);
    if (failed(applyRaisePatterns(root, std::move(patterns), logOrNull)))
      return signalPassFailure();

    if (markMlp)
      markMlps(root, logOrNull);
    if (logOrNull)
      log.emit(root, describeLinear);
  }
};
} // namespace

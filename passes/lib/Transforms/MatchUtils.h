//===- MatchUtils.h - shared matchers of the detection passes ---*- C++ -*-===//
//
// Small matchers over imported linalg IR (contractions, zero accumulators,
// weights behind reshapes, scalar constants in generic bodies) and the log
// that turns what the guard chains found into remarks.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_TRANSFORMS_MATCHUTILS_H
#define FLY_TRANSFORMS_MATCHUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>
#include <string>

namespace mlir::fly::detail {

/// A contraction C[b.., m, n] = sum_k A * B with one m, n and k dimension and
/// the batch dimensions leading in the same order on every operand.
struct Contraction {
  linalg::LinalgOp op;
  Value lhs, rhs, init;
  unsigned numBatch = 0;
  /// A is indexed [b.., k, m] instead of [b.., m, k].
  bool lhsTransposed = false;
  /// B is indexed [b.., n, k] instead of [b.., k, n].
  bool rhsTransposed = false;
};

/// Matches `op` as a contraction on statically shaped tensors of one float
/// element type. On failure `why` says what did not fit.
FailureOr<Contraction> matchContraction(linalg::LinalgOp op, std::string &why);

/// True if `init` is all zeros (a linalg.fill of 0 or a zero constant), so a
/// contraction into it computes the product alone.
bool isZeroTensor(Value init);

/// Follows transposes, reshapes and casts (linalg, tensor and TOSA) back to
/// where `v` comes from.
Value stripLayoutOps(Value v);

/// True if `v` is a constant, possibly behind transposes and reshapes.
bool isConstantWeight(Value v);

/// The value of a scalar float constant (arith.constant, inside or outside a
/// generic body).
std::optional<double> getScalarConstant(Value v);

/// The value of a float constant that is a scalar or a splat tensor of any
/// shape (tosa.const or arith.constant), as TOSA writes scalars.
std::optional<double> getSplatConstant(Value v);

/// True if `v` is a zero constant, scalar or splat, integer or float (TOSA
/// zero points and shifts).
bool isZeroConstant(Value v);

/// True if `t` is a statically shaped tensor of f32, f16 or bf16 (the element
/// types fly ops take).
bool isFlyTensorType(Type t);

/// True if `v` is a `tosa.reshape` that keeps the last two dimensions of its
/// input (only merges or splits leading batch dimensions).
bool isBatchReshape(Value v);

/// True if `map` keeps every dimension of a rank-`rank` loop nest in order
/// except `dim` (the map of a row reduction's result or of its broadcast).
bool dropsOnlyDim(AffineMap map, unsigned rank, unsigned dim);

/// What the guard chains found, reported as remarks once the greedy driver is
/// done: the driver visits an op several times, and reporting at the end says
/// each thing once, in program order. As the driver's listener it forgets ops
/// that get erased (a rejected candidate raised later, a rebuilt op).
class RemarkLog : public RewriterBase::Listener {
public:
  /// `rejectPrefix` starts every rejection remark ("not raised as linear: ").
  explicit RemarkLog(StringRef rejectPrefix) : rejectPrefix(rejectPrefix) {}

  /// Records that `op` was produced by a raise; `what` describes its form.
  void raised(Operation *op, StringRef what) { raisedOps[op] = what.str(); }
  /// The form recorded for `op`, or "" if none.
  StringRef raisedForm(Operation *op) const {
    auto it = raisedOps.find(op);
    return it == raisedOps.end() ? StringRef() : StringRef(it->second);
  }
  /// Records why candidate `op` was rejected (replacing an earlier reason).
  void rejected(Operation *op, const Twine &why) {
    rejectedOps[op] = why.str();
  }
  /// Records a remark about `op` printed as it is.
  void note(Operation *op, const Twine &text) { notes[op] = text.str(); }

  /// Emits, in program order under `root`, one remark per raised op (text
  /// from `describe`), per rejected candidate and per note.
  void emit(Operation *root,
            function_ref<std::string(Operation *, StringRef)> describe);

  void notifyOperationErased(Operation *op) override {
    raisedOps.erase(op);
    rejectedOps.erase(op);
    notes.erase(op);
  }

private:
  std::string rejectPrefix;
  DenseMap<Operation *, std::string> raisedOps, rejectedOps, notes;
};

/// Ends a guard chain: tells the driver why `op` did not match and records
/// the reason for remarks (when `log` is set).
LogicalResult reject(PatternRewriter &rewriter, Operation *op, RemarkLog *log,
                     const Twine &why);

/// Applies raise patterns and nothing else: no folding, constant CSE or
/// region simplification of the rest of the module (dead ops the raise
/// leaves are still erased). `log` (may be null) records rejections.
LogicalResult applyRaisePatterns(Operation *root, RewritePatternSet &&patterns,
                                 RemarkLog *log);

} // namespace mlir::fly::detail

#endif // FLY_TRANSFORMS_MATCHUTILS_H

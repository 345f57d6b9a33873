//===- LinalgBuilder.h - Compact builders for linalg.generic ----*- C++ -*-===//
//
// The reference lowering writes every fly op as a handful of linalg.generic
// ops. Spelling each indexing map by hand hides the math, so the ops are
// built from einsum-like specs ("bhtd,bhsd->bhts"): letters name loops,
// letters absent from the output are reductions, and '0' indexes a unit
// (broadcast) dimension.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_UTILS_LINALGBUILDER_H
#define FLY_UTILS_LINALGBUILDER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::fly::detail {

/// Body of a generic: receives the builder, the location and the block
/// arguments (inputs then the output accumulator); returns the value yielded.
using GenericBody = function_ref<Value(OpBuilder &, Location, ValueRange args)>;

class LinalgBuilder {
public:
  LinalgBuilder(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  /// A tensor of `shape` x f32 filled with `value`.
  Value filled(ArrayRef<int64_t> shape, double value);
  /// An uninitialised tensor of `shape` x f32.
  Value empty(ArrayRef<int64_t> shape);

  /// linalg.generic over the loops named in `spec`. Letters of the output
  /// are parallel loops (in output order), the others are reductions (in
  /// order of first appearance). `init` gives the output shape and initial
  /// value.
  Value generic(StringRef spec, ValueRange inputs, Value init,
                GenericBody body);

  /// out = init + sum over reduction letters of lhs * rhs (all f32). Without
  /// `init` the sum starts from zero.
  Value einsum(StringRef spec, Value lhs, Value rhs, Value init = {});

  /// linalg.matmul: [M, K] x [K, N] -> [M, N] (f32, from zero).
  Value matmul(Value a, Value b);
  /// linalg.batch_matmul: [B, M, K] x [B, K, N] -> [B, M, N].
  Value batchMatmul(Value a, Value b);
  /// linalg.transpose: result dim i is input dim perm[i].
  Value transpose(Value x, ArrayRef<int64_t> perm);

  /// Loop index of the letter at `position` in the output spec (inside a
  /// generic body).
  Value loopIndex(OpBuilder &nested, Location nestedLoc, unsigned position);

  /// Element type conversion of a whole tensor (extf / truncf).
  Value castElements(Value tensor, Type elementType);

  /// [d0, ..., dn-1, c] -> [d0*...*dn-1, c]; a rank-1 tensor becomes [1, c].
  Value collapseToMatrix(Value tensor);
  /// Inverse of collapseToMatrix for the given result type's leading dims.
  Value expandFromMatrix(Value matrix, RankedTensorType like);
  /// Reshape by splitting or merging dims in groups (expand or collapse).
  Value reshape(Value tensor, ArrayRef<int64_t> newShape);

  Value f32Constant(double value);
  Value indexConstant(int64_t value);

  OpBuilder &builder() { return b; }
  Location location() { return loc; }

private:
  OpBuilder &b;
  Location loc;
};

} // namespace mlir::fly::detail

#endif // FLY_UTILS_LINALGBUILDER_H

//===- WeightConstants.h - compile-time rewrites of weight blobs -*- C++
//-*-===//
//
// Imported weights are arith.constant ops holding dense_resource blobs.
// Passes that fold a layout change into a weight (a transpose, a kernel's
// row or column permutation) build the permuted copy once, at compile time,
// with these helpers.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_UTILS_WEIGHTCONSTANTS_H
#define FLY_UTILS_WEIGHTCONSTANTS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <vector>

namespace mlir::fly {

/// The blob of `v` when it is an arith.constant holding a dense_resource
/// with data; null otherwise.
DenseResourceElementsAttr weightResource(Value v);

/// A new dense_resource of type `type` (same element type and count as
/// `weight`), named <weight's key><suffix>, whose element i (row-major) is
/// element sourceOf(i) of `weight`. sourceOf is called for i = 0, 1, ...
/// in order, so it may keep a running multi-index.
DenseResourceElementsAttr
gatherWeight(DenseResourceElementsAttr weight, RankedTensorType type,
             StringRef suffix, llvm::function_ref<int64_t(int64_t)> sourceOf);

/// The elements of a f16, bf16 or f32 weight (row-major) as doubles;
/// empty for other element types.
std::vector<double> weightValues(DenseResourceElementsAttr weight);

/// A new dense_resource named `key` of `type` (f16, bf16 or f32 elements)
/// holding `values` rounded to the element type (nearest even); null for
/// other element types or a count that does not match.
DenseResourceElementsAttr weightFromValues(RankedTensorType type, StringRef key,
                                           llvm::ArrayRef<double> values);

} // namespace mlir::fly

#endif // FLY_UTILS_WEIGHTCONSTANTS_H

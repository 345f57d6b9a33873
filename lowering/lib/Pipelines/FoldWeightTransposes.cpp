//===- FoldWeightTransposes.cpp - Compile-time transposes -------*- C++ -*-===//

#include "fly/Conversion/Passes.h"
#include "fly/Utils/WeightConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYFOLDWEIGHTTRANSPOSES
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {
/// Row-major strides of `shape`.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Returns the transposed copy of a dense_resource constant, or nullptr
/// when `transpose` does not read one.
Attribute foldTranspose(linalg::TransposeOp transpose) {
  DenseResourceElementsAttr resource =
      fly::weightResource(transpose.getInput());
  if (!resource)
    return nullptr;
  auto inType = cast<RankedTensorType>(resource.getType());
  ArrayRef<int64_t> perm = transpose.getPermutation();
  ArrayRef<int64_t> inShape = inType.getShape();
  SmallVector<int64_t> outShape;
  for (int64_t p : perm)
    outShape.push_back(inShape[p]);
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  int64_t rank = inShape.size();
  SmallVector<int64_t> index(rank, 0); // output multi-index, row-major order
  auto sourceOf = [&](int64_t) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += index[d] * inStrides[perm[d]];
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < outShape[d])
        break;
      index[d] = 0;
    }
    return src;
  };
  return fly::gatherWeight(
      resource, RankedTensorType::get(outShape, inType.getElementType()), ".T",
      sourceOf);
}

struct FlyFoldWeightTransposesPass
    : mlir::fly::impl::FlyFoldWeightTransposesBase<
          FlyFoldWeightTransposesPass> {
  void runOnOperation() override {
    SmallVector<linalg::TransposeOp> transposes;
    getOperation()->walk(
        [&](linalg::TransposeOp op) { transposes.push_back(op); });
    // Transposes of one weight share one folded constant.
    DenseMap<std::pair<Attribute, Attribute>, Attribute> folded;
    IRRewriter rewriter(&getContext());
    for (linalg::TransposeOp op : transposes) {
      auto constant = op.getInput().getDefiningOp<arith::ConstantOp>();
      if (!constant)
        continue;
      auto key = std::make_pair(constant.getValue(),
                                Attribute(op.getPermutationAttr()));
      Attribute attr = folded.lookup(key);
      if (!attr)
        attr = folded[key] = foldTranspose(op);
      if (!attr)
        continue;
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, cast<TypedAttr>(attr));
    }
  }
};
} // namespace

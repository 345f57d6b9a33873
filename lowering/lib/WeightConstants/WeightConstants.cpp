//===- WeightConstants.cpp - compile-time rewrites of weight blobs --------===//

#include "fly/Utils/WeightConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>
#include <vector>

using namespace mlir;

DenseResourceElementsAttr mlir::fly::weightResource(Value v) {
  auto constant = v.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return nullptr;
  auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
  if (!resource || !resource.getRawHandle().getBlob())
    return nullptr;
  return resource;
}

DenseResourceElementsAttr
mlir::fly::gatherWeight(DenseResourceElementsAttr weight, RankedTensorType type,
                        StringRef suffix,
                        llvm::function_ref<int64_t(int64_t)> sourceOf) {
  auto inType = cast<RankedTensorType>(weight.getType());
  unsigned bytes = inType.getElementTypeBitWidth() / 8;
  if (bytes == 0 || type.getElementType() != inType.getElementType() ||
      type.getNumElements() != inType.getNumElements())
    return nullptr;
  ArrayRef<char> in = weight.getRawHandle().getBlob()->getData();
  std::vector<char> out(in.size());
  for (int64_t i = 0, count = type.getNumElements(); i < count; ++i)
    std::memcpy(out.data() + i * bytes, in.data() + sourceOf(i) * bytes, bytes);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      out, alignof(std::max_align_t));
  std::string key = (weight.getRawHandle().getKey() + suffix).str();
  return DenseResourceElementsAttr::get(type, key, std::move(blob));
}

//===- WeightConstants.cpp - compile-time rewrites of weight blobs --------===//

#include "fly/Utils/WeightConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <Eigen/Core>

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

namespace {
/// Reinterprets `bytes` as T elements and converts each one with `f`.
template <typename T, typename F>
void forEachElement(ArrayRef<char> bytes, F f) {
  for (size_t i = 0; i + sizeof(T) <= bytes.size(); i += sizeof(T)) {
    T v;
    std::memcpy(&v, bytes.data() + i, sizeof(T));
    f(v);
  }
}

template <typename T> std::vector<char> encode(ArrayRef<double> values) {
  std::vector<char> out(values.size() * sizeof(T));
  for (size_t i = 0; i < values.size(); ++i) {
    T v = T(float(values[i]));
    std::memcpy(out.data() + i * sizeof(T), &v, sizeof(T));
  }
  return out;
}
} // namespace

std::vector<double> mlir::fly::weightValues(DenseResourceElementsAttr weight) {
  ArrayRef<char> bytes = weight.getRawHandle().getBlob()->getData();
  Type element = cast<RankedTensorType>(weight.getType()).getElementType();
  std::vector<double> values;
  auto push = [&](auto v) { values.push_back(double(float(v))); };
  if (element.isF16())
    forEachElement<Eigen::half>(bytes, push);
  else if (element.isBF16())
    forEachElement<Eigen::bfloat16>(bytes, push);
  else if (element.isF32())
    forEachElement<float>(bytes, push);
  return values;
}

DenseResourceElementsAttr mlir::fly::weightFromValues(RankedTensorType type,
                                                      StringRef key,
                                                      ArrayRef<double> values) {
  if (type.getNumElements() != int64_t(values.size()))
    return nullptr;
  Type element = type.getElementType();
  std::vector<char> bytes;
  if (element.isF16())
    bytes = encode<Eigen::half>(values);
  else if (element.isBF16())
    bytes = encode<Eigen::bfloat16>(values);
  else if (element.isF32())
    bytes = encode<float>(values);
  else
    return nullptr;
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      bytes, alignof(std::max_align_t));
  return DenseResourceElementsAttr::get(type, key, std::move(blob));
}

//===- LinalgBuilder.cpp - Compact builders for linalg.generic --*- C++ -*-===//

#include "fly/Utils/LinalgBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::fly::detail;

namespace {
struct ParsedSpec {
  SmallVector<std::string> operands; // one letter string per input
  std::string output;
  std::string loops; // output letters, then reduction letters
};

ParsedSpec parseSpec(StringRef spec) {
  auto [ins, out] = spec.split("->");
  ParsedSpec parsed;
  SmallVector<StringRef> parts;
  if (!ins.empty())
    ins.split(parts, ',');
  for (StringRef p : parts)
    parsed.operands.push_back(p.str());
  parsed.output = out.str();
  parsed.loops = parsed.output;
  for (const std::string &operand : parsed.operands)
    for (char c : operand)
      if (c != '0' && parsed.loops.find(c) == std::string::npos)
        parsed.loops.push_back(c);
  return parsed;
}

AffineMap mapFor(StringRef letters, StringRef loops, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (char c : letters)
    exprs.push_back(c == '0' ? getAffineConstantExpr(0, ctx)
                             : getAffineDimExpr(loops.find(c), ctx));
  return AffineMap::get(loops.size(), 0, exprs, ctx);
}
} // namespace

Value LinalgBuilder::f32Constant(double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value LinalgBuilder::indexConstant(int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value LinalgBuilder::empty(ArrayRef<int64_t> shape) {
  return tensor::EmptyOp::create(b, loc, shape, b.getF32Type());
}

Value LinalgBuilder::filled(ArrayRef<int64_t> shape, double value) {
  return linalg::FillOp::create(b, loc, ValueRange{f32Constant(value)},
                                ValueRange{empty(shape)})
      .getResult(0);
}

Value LinalgBuilder::generic(StringRef spec, ValueRange inputs, Value init,
                             GenericBody body) {
  ParsedSpec parsed = parseSpec(spec);
  assert(parsed.operands.size() == inputs.size() && "spec/operand mismatch");
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (const std::string &operand : parsed.operands)
    maps.push_back(mapFor(operand, parsed.loops, ctx));
  maps.push_back(mapFor(parsed.output, parsed.loops, ctx));
  SmallVector<utils::IteratorType> iterators;
  for (size_t i = 0; i < parsed.loops.size(); ++i)
    iterators.push_back(i < parsed.output.size()
                            ? utils::IteratorType::parallel
                            : utils::IteratorType::reduction);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = body(nested, nestedLoc, args);
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return op.getResult(0);
}

Value LinalgBuilder::einsum(StringRef spec, Value lhs, Value rhs, Value init) {
  if (!init) {
    // Output sizes come from the operands: find each output letter in them.
    ParsedSpec parsed = parseSpec(spec);
    SmallVector<int64_t> shape;
    Value operands[] = {lhs, rhs};
    for (char c : parsed.output) {
      for (int i = 0; i < 2; ++i) {
        size_t pos = parsed.operands[i].find(c);
        if (pos != std::string::npos) {
          shape.push_back(
              cast<RankedTensorType>(operands[i].getType()).getDimSize(pos));
          break;
        }
      }
    }
    assert(shape.size() == parsed.output.size() && "output letter unbound");
    init = filled(shape, 0.0);
  }
  return generic(spec, {lhs, rhs}, init,
                 [](OpBuilder &nb, Location l, ValueRange args) -> Value {
                   Value prod = arith::MulFOp::create(nb, l, args[0], args[1]);
                   return arith::AddFOp::create(nb, l, args[2], prod);
                 });
}

Value LinalgBuilder::loopIndex(OpBuilder &nested, Location nestedLoc,
                               unsigned position) {
  return linalg::IndexOp::create(nested, nestedLoc, position);
}

Value LinalgBuilder::castElements(Value tensor, Type elementType) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Type from = type.getElementType();
  if (from == elementType)
    return tensor;
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), elementType);
  std::string letters;
  for (int64_t i = 0; i < type.getRank(); ++i)
    letters.push_back('a' + i);
  return generic(letters + "->" + letters, {tensor}, init,
                 [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                   if (from.getIntOrFloatBitWidth() <
                       elementType.getIntOrFloatBitWidth())
                     return arith::ExtFOp::create(nb, l, elementType, args[0]);
                   return arith::TruncFOp::create(nb, l, elementType, args[0]);
                 });
}

Value LinalgBuilder::reshape(Value tensor, ArrayRef<int64_t> newShape) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getShape() == newShape)
    return tensor;
  auto newType = RankedTensorType::get(newShape, type.getElementType());
  if (newType.getRank() > type.getRank()) {
    if (auto re = getReassociationIndicesForReshape(type, newType))
      return tensor::ExpandShapeOp::create(b, loc, newType, tensor, *re);
  } else if (newType.getRank() < type.getRank()) {
    if (auto re = getReassociationIndicesForReshape(type, newType))
      return tensor::CollapseShapeOp::create(b, loc, newType, tensor, *re);
  }
  // Neither a pure split nor a pure merge: go through a flat vector.
  Value flat = reshape(tensor, {type.getNumElements()});
  return reshape(flat, newShape);
}

Value LinalgBuilder::collapseToMatrix(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t cols = type.getShape().back();
  return reshape(tensor, {type.getNumElements() / cols, cols});
}

Value LinalgBuilder::expandFromMatrix(Value matrix, RankedTensorType like) {
  return reshape(matrix, like.getShape());
}

Value LinalgBuilder::matmul(Value a, Value b) {
  auto at = cast<RankedTensorType>(a.getType());
  auto bt = cast<RankedTensorType>(b.getType());
  Value init = filled({at.getDimSize(0), bt.getDimSize(1)}, 0.0);
  return linalg::MatmulOp::create(this->b, loc, ValueRange{a, b},
                                  ValueRange{init})
      .getResult(0);
}

Value LinalgBuilder::batchMatmul(Value a, Value b) {
  auto at = cast<RankedTensorType>(a.getType());
  auto bt = cast<RankedTensorType>(b.getType());
  Value init =
      filled({at.getDimSize(0), at.getDimSize(1), bt.getDimSize(2)}, 0.0);
  return linalg::BatchMatmulOp::create(this->b, loc, ValueRange{a, b},
                                       ValueRange{init})
      .getResult(0);
}

Value LinalgBuilder::transpose(Value x, ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  Value init = tensor::EmptyOp::create(b, loc, shape, type.getElementType());
  return linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
}

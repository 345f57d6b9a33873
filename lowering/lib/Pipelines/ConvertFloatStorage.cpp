//===- ConvertFloatStorage.cpp - 16-bit storage, f32 compute --------------===//
//
// Rewrites the types of one function in place, in program order, so that
// every producer is converted before its users: linalg ops (generalised to
// linalg.generic unless marked for a dedicated kernel) get 16-bit results
// unless they reduce, their bodies extend what they read and truncate what
// they write; shape ops follow their source's element type; constants are
// converted at compile time; where an operand's type no longer matches what
// its user needs, an elementwise cast is inserted.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/Passes.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYCONVERTFLOATSTORAGE
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {

/// Marks a linalg op that a dedicated kernel implements (it accumulates in
/// f32 internally, so its 16-bit result is not rounded per step).
constexpr const char *kKernelAttr = "fly.kernel";

RankedTensorType withElement(Type type, Type element) {
  auto tensor = cast<RankedTensorType>(type);
  return RankedTensorType::get(tensor.getShape(), element,
                               tensor.getEncoding());
}

bool isF32Tensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getElementType().isF32();
}

class StorageConverter {
public:
  StorageConverter(func::FuncOp func, FloatType storage)
      : func(func), storage(storage), f32(Float32Type::get(func.getContext())),
        rewriter(func.getContext()) {}

  LogicalResult run() {
    if (failed(generalize()))
      return failure();
    Block &entry = func.getBody().front();
    for (BlockArgument arg : entry.getArguments())
      if (isF32Tensor(arg.getType()))
        arg.setType(withElement(arg.getType(), storage));
    // Ops are visited before the ops nested in them (pre-order) and in
    // program order, so operands are always converted already. Collected
    // first: converting a constant replaces it.
    SmallVector<Operation *> ops;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (op != func)
        ops.push_back(op);
    });
    for (Operation *op : ops)
      if (failed(convert(op)))
        return failure();
    SmallVector<Type> results;
    func.walk([&](func::ReturnOp ret) {
      results.assign(ret.getOperandTypes().begin(),
                     ret.getOperandTypes().end());
    });
    func.setType(FunctionType::get(func.getContext(), entry.getArgumentTypes(),
                                   results));
    return success();
  }

private:
  func::FuncOp func;
  FloatType storage;
  FloatType f32;
  IRRewriter rewriter;

  LogicalResult generalize() {
    SmallVector<linalg::LinalgOp> named;
    // Fills stay named: a reduction's f32 accumulator is re-created from
    // the fill (adapt) instead of cast from a 16-bit one.
    func.walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::GenericOp, linalg::FillOp>(op) &&
          !op->hasAttr(kKernelAttr))
        named.push_back(op);
    });
    for (linalg::LinalgOp op : named) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::generalizeNamedOp(rewriter, op)))
        return op->emitError("fly-convert-float-storage: cannot generalize");
    }
    return success();
  }

  /// `value` as a tensor of element type `element`: itself, a fresh
  /// tensor.empty / linalg.fill of one, or an elementwise cast.
  Value adapt(Value value, Type element, Location loc) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getElementType() == element)
      return value;
    OpBuilder::InsertionGuard guard(rewriter);
    if (auto empty = value.getDefiningOp<tensor::EmptyOp>()) {
      rewriter.setInsertionPoint(empty);
      return tensor::EmptyOp::create(rewriter, loc, type.getShape(), element,
                                     empty.getDynamicSizes());
    }
    if (auto fill = value.getDefiningOp<linalg::FillOp>()) {
      rewriter.setInsertionPoint(fill);
      Value init = adapt(fill.getOutputs()[0], element, loc);
      Value scalar = castScalar(fill.getInputs()[0], element, loc);
      return linalg::FillOp::create(rewriter, loc, scalar, init).getResult(0);
    }
    if (Operation *def = value.getDefiningOp())
      rewriter.setInsertionPointAfter(def);
    else
      rewriter.setInsertionPointToStart(value.getParentBlock());
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         element, ValueRange());
    unsigned rank = type.getRank();
    SmallVector<AffineMap> maps(2, rewriter.getMultiDimIdentityMap(rank));
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto cast = linalg::GenericOp::create(
        rewriter, loc, TypeRange{init.getType()}, ValueRange{value},
        ValueRange{init}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l, castScalarAt(b, args[0], element, l));
        });
    return cast.getResult(0);
  }

  static Value castScalarAt(OpBuilder &b, Value scalar, Type element,
                            Location loc) {
    Type from = scalar.getType();
    if (from == element || !isa<FloatType>(from))
      return scalar;
    if (from.getIntOrFloatBitWidth() < element.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, element, scalar);
    return arith::TruncFOp::create(b, loc, element, scalar);
  }

  Value castScalar(Value scalar, Type element, Location loc) {
    return castScalarAt(rewriter, scalar, element, loc);
  }

  LogicalResult convert(Operation *op) {
    if (auto generic = dyn_cast<linalg::GenericOp>(op))
      return convertGeneric(generic);
    if (auto fill = dyn_cast<linalg::FillOp>(op))
      return convertFill(fill);
    if (isa<linalg::LinalgOp, mlir::fly::LinearOp, mlir::fly::AttentionOp,
            mlir::fly::LocalAttentionOp, mlir::fly::ScatterbrainAttentionOp,
            mlir::fly::MonarchMatmulOp, mlir::fly::LowRankMatmulOp>(op))
      return convertKernelOp(op);
    if (auto constant = dyn_cast<arith::ConstantOp>(op))
      return convertConstant(constant);
    if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
      Type element = extract.getTensor().getType().getElementType();
      if (element == extract.getType())
        return success();
      Type old = extract.getType();
      extract.getResult().setType(element);
      rewriter.setInsertionPointAfter(extract);
      Value wide = castScalar(extract.getResult(), old, extract.getLoc());
      rewriter.replaceAllUsesExcept(extract.getResult(), wide,
                                    wide.getDefiningOp());
      return success();
    }
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      Type element = insert.getDest().getType().getElementType();
      rewriter.setInsertionPoint(insert);
      insert.getSourceMutable().assign(
          adapt(insert.getSource(), element, insert.getLoc()));
      insert.getResult().setType(withElement(insert.getType(), element));
      return success();
    }
    if (auto pad = dyn_cast<tensor::PadOp>(op)) {
      Type element = pad.getSourceType().getElementType();
      Value yielded = pad.getConstantPaddingValue();
      if (!yielded)
        return pad.emitError("fly-convert-float-storage: only constant "
                             "padding is supported");
      auto yield = cast<tensor::YieldOp>(pad.getBody()->getTerminator());
      rewriter.setInsertionPoint(yield);
      yield.getValueMutable().assign(
          castScalar(yield.getValue(), element, pad.getLoc()));
      pad.getResult().setType(withElement(pad.getType(), element));
      return success();
    }
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
            tensor::ExtractSliceOp, tensor::CastOp, tensor::ReshapeOp>(op)) {
      Type element =
          cast<RankedTensorType>(op->getOperand(0).getType()).getElementType();
      op->getResult(0).setType(
          withElement(op->getResult(0).getType(), element));
      return success();
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      // Outputs in the storage type too: an f32 accumulator (logits) is
      // rounded once, at the end.
      rewriter.setInsertionPoint(ret);
      for (OpOperand &operand : ret->getOpOperands())
        if (isF32Tensor(operand.get().getType()))
          operand.set(adapt(operand.get(), storage, ret.getLoc()));
      return success();
    }
    if (isa<tensor::EmptyOp>(op))
      return success(); // Adapted where used.
    for (Type type :
         llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes()))
      if (auto tensor = dyn_cast<RankedTensorType>(type))
        if (tensor.getElementType() == storage &&
            !op->getParentOfType<linalg::LinalgOp>())
          return op->emitError("fly-convert-float-storage: don't know how to "
                               "convert this op's tensor types");
    return success();
  }

  LogicalResult convertGeneric(linalg::GenericOp op) {
    Location loc = op.getLoc();
    bool reduces = op.getNumReductionLoops() > 0;
    Block *body = op.getBody();
    rewriter.setInsertionPoint(op);
    // Outputs: reductions accumulate in f32, everything else is stored in
    // the storage type.
    for (auto [i, result] : llvm::enumerate(op->getResults())) {
      auto type = cast<RankedTensorType>(result.getType());
      if (!type.getElementType().isF32())
        continue;
      Type element = reduces ? Type(f32) : Type(storage);
      OpOperand &init = op.getDpsInitsMutable()[i];
      init.set(adapt(init.get(), element, loc));
      result.setType(withElement(type, element));
    }
    // Body: block arguments take the operands' element types; the body
    // keeps computing on what it computed before.
    rewriter.setInsertionPointToStart(body);
    for (OpOperand &operand : op->getOpOperands()) {
      auto type = dyn_cast<RankedTensorType>(operand.get().getType());
      if (!type)
        continue;
      BlockArgument arg = op.getMatchingBlockArgument(&operand);
      Type element = type.getElementType();
      Type old = arg.getType();
      if (old == element)
        continue;
      arg.setType(element);
      Value wide = castScalar(arg, old, loc);
      rewriter.replaceAllUsesExcept(arg, wide, wide.getDefiningOp());
    }
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    rewriter.setInsertionPoint(yield);
    for (auto [i, operand] : llvm::enumerate(yield->getOpOperands())) {
      Type element =
          cast<RankedTensorType>(op->getResult(i).getType()).getElementType();
      operand.set(castScalar(operand.get(), element, loc));
    }
    return success();
  }

  /// A fill of an f32 tensor fills the storage type; reductions that use
  /// it as their accumulator get an f32 fill of their own (adapt).
  LogicalResult convertFill(linalg::FillOp op) {
    Value result = op.getResult(0);
    if (!isF32Tensor(result.getType()))
      return success();
    rewriter.setInsertionPoint(op);
    Value init = adapt(op.getOutputs()[0], storage, op.getLoc());
    Value scalar = castScalar(op.getInputs()[0], storage, op.getLoc());
    Value filled = linalg::FillOp::create(rewriter, op.getLoc(), scalar, init)
                       .getResult(0);
    rewriter.replaceAllUsesWith(result, filled);
    // Left for canonicalisation: the original may feed nothing now.
    return success();
  }

  /// Ops kept for a dedicated kernel (fly.linear, linalg ops marked
  /// fly.kernel): 16-bit operands and result; the kernel accumulates in f32.
  LogicalResult convertKernelOp(Operation *op) {
    rewriter.setInsertionPoint(op);
    for (OpOperand &operand : op->getOpOperands())
      if (auto type = dyn_cast<RankedTensorType>(operand.get().getType());
          type && type.getElementType() != storage &&
          isa<FloatType>(type.getElementType()))
        operand.set(adapt(operand.get(), storage, op->getLoc()));
    for (Value result : op->getResults())
      if (isF32Tensor(result.getType()))
        result.setType(withElement(result.getType(), storage));
    return success();
  }

  std::string storageName() const { return storage.isF16() ? "f16" : "bf16"; }

  LogicalResult convertConstant(arith::ConstantOp op) {
    if (!isF32Tensor(op.getType()))
      return success();
    auto type = withElement(op.getType(), storage);
    Attribute value = op.getValue();
    const llvm::fltSemantics &sem = storage.getFloatSemantics();
    auto narrow = [&](float v) {
      llvm::APFloat f(v);
      bool lost;
      f.convert(sem, llvm::APFloat::rmNearestTiesToEven, &lost);
      return f;
    };
    Attribute converted;
    if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
      SmallVector<llvm::APFloat> values;
      for (float v : dense.getValues<float>())
        values.push_back(narrow(v));
      converted = DenseElementsAttr::get(type, values);
    } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
      AsmResourceBlob *blob = resource.getRawHandle().getBlob();
      if (!blob)
        return op.emitError("weight '")
               << resource.getRawHandle().getKey() << "' has no data";
      ArrayRef<float> in = blob->getDataAs<float>();
      std::vector<uint16_t> out(in.size());
      for (size_t i = 0; i < in.size(); ++i)
        out[i] = uint16_t(narrow(in[i]).bitcastToAPInt().getZExtValue());
      ArrayRef<char> bytes(reinterpret_cast<const char *>(out.data()),
                           out.size() * sizeof(uint16_t));
      // The checkpoint key with the storage type appended: resource keys
      // are unique, and the artifact's name says what it holds.
      converted = DenseResourceElementsAttr::get(
          type, (resource.getRawHandle().getKey() + "." + storageName()).str(),
          HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64));
    } else {
      return op.emitError("fly-convert-float-storage: unsupported constant");
    }
    rewriter.setInsertionPoint(op);
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, type,
                                                   cast<TypedAttr>(converted));
    return success();
  }
};

struct FlyConvertFloatStoragePass
    : mlir::fly::impl::FlyConvertFloatStorageBase<FlyConvertFloatStoragePass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    FloatType storage;
    if (storageType == "f16")
      storage = Float16Type::get(ctx);
    else if (storageType == "bf16")
      storage = BFloat16Type::get(ctx);
    else {
      getOperation().emitError("fly-convert-float-storage: type must be f16 "
                               "or bf16, not '")
          << storageType << "'";
      return signalPassFailure();
    }
    if (getOperation().isExternal())
      return;
    if (failed(StorageConverter(getOperation(), storage).run()))
      signalPassFailure();
  }
};

} // namespace

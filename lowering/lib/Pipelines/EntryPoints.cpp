//===- EntryPoints.cpp - The C ABI of compiled fly functions ----*- C++ -*-===//

#include "fly/Pipelines/EntryPoints.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;

func::FuncOp mlir::fly::addDestinationPassingEntry(ModuleOp module,
                                                   func::FuncOp callee,
                                                   StringRef name) {
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = callee.getLoc();
  auto toMemRef = [](Type t) -> Type {
    auto tt = cast<RankedTensorType>(t);
    return MemRefType::get(tt.getShape(), tt.getElementType());
  };
  SmallVector<Type> argTypes;
  for (Type t : callee.getArgumentTypes())
    argTypes.push_back(toMemRef(t));
  for (Type t : callee.getResultTypes())
    argTypes.push_back(toMemRef(t));
  auto entry =
      func::FuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
  Block *body = entry.addEntryBlock();
  b.setInsertionPointToStart(body);
  unsigned numInputs = callee.getNumArguments();
  SmallVector<Value> tensors;
  for (unsigned i = 0; i < numInputs; ++i)
    tensors.push_back(bufferization::ToTensorOp::create(
        b, loc, callee.getArgumentTypes()[i], body->getArgument(i),
        /*restrict=*/true, /*writable=*/false));
  auto call = func::CallOp::create(b, loc, callee, tensors);
  for (auto [i, result] : llvm::enumerate(call.getResults()))
    bufferization::MaterializeInDestinationOp::create(
        b, loc, Type(), result, body->getArgument(numInputs + i),
        /*restrict=*/true, /*writable=*/true);
  func::ReturnOp::create(b, loc);
  callee.setPrivate();
  return entry;
}

LogicalResult mlir::fly::addPackedEntry(ModuleOp module, StringRef callee,
                                        StringRef packedName) {
  auto target = module.lookupSymbol<LLVM::LLVMFuncOp>(callee);
  if (!target)
    return module.emitError("no lowered function @") << callee;
  MLIRContext *ctx = module.getContext();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = target.getLoc();
  auto fnType =
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptrType});
  auto entry = LLVM::LLVMFuncOp::create(b, loc, packedName, fnType);
  Block *body = entry.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  SmallVector<Value> args;
  for (auto [i, type] : llvm::enumerate(target.getFunctionType().getParams())) {
    if (type != ptrType)
      return target.emitError("expected only pointer arguments (bare-pointer "
                              "memrefs), but argument #")
             << i << " is " << type;
    Value slot =
        LLVM::GEPOp::create(b, loc, ptrType, ptrType, body->getArgument(0),
                            ArrayRef<LLVM::GEPArg>{int32_t(i)});
    args.push_back(LLVM::LoadOp::create(b, loc, ptrType, slot));
  }
  LLVM::CallOp::create(b, loc, target, args);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return success();
}

LogicalResult
mlir::fly::externalizeWeights(func::FuncOp func,
                              std::vector<ExternalWeight> &weights) {
  llvm::MapVector<Attribute, SmallVector<arith::ConstantOp>> byResource;
  func.walk([&](arith::ConstantOp op) {
    if (isa<DenseResourceElementsAttr>(op.getValue()))
      byResource[op.getValue()].push_back(op);
  });
  for (auto &[attr, ops] : byResource) {
    auto resource = cast<DenseResourceElementsAttr>(attr);
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return ops.front().emitError("weight '")
             << resource.getRawHandle().getKey() << "' has no data";
    auto type = cast<RankedTensorType>(resource.getType());
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(index, type, DictionaryAttr(),
                                   ops.front().getLoc())))
      return failure();
    BlockArgument arg = func.getArgument(index);
    for (arith::ConstantOp op : ops) {
      op.getResult().replaceAllUsesWith(arg);
      op.erase();
    }
    weights.push_back(
        {resource.getRawHandle().getKey().str(), type, blob->getData()});
  }
  return success();
}

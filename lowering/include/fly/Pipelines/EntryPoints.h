//===- EntryPoints.h - The C ABI of compiled fly functions ------*- C++ -*-===//
//
// Compiled models are called from the runtime through one C function:
//   void entry(void **buffers)
// where `buffers` holds a dense row-major buffer per input, then per output.
// Two steps build it: a destination-passing wrapper on tensors (before
// bufferization) and, after lowering to the LLVM dialect with bare-pointer
// memrefs, a function that unpacks the pointer array.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_PIPELINES_ENTRYPOINTS_H
#define FLY_PIPELINES_ENTRYPOINTS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::fly {

/// Adds `@<name>(memref inputs..., memref outputs...)` that calls `callee`
/// on the inputs (as tensors) and writes its results into the trailing
/// memrefs. `callee` becomes private so it is inlined and dropped.
func::FuncOp addDestinationPassingEntry(ModuleOp module, func::FuncOp callee,
                                        StringRef name);

/// After lowering to the LLVM dialect with bare-pointer memrefs: adds
/// `llvm.func @<packedName>(!llvm.ptr)` that loads one pointer per argument
/// of `@callee` from the array and calls it.
LogicalResult addPackedEntry(ModuleOp module, StringRef callee,
                             StringRef packedName);

/// A weight taken out of the IR: the checkpoint name (the dense_resource
/// key), its type and its bytes (owned by the context's resource blob).
struct ExternalWeight {
  std::string name;
  RankedTensorType type;
  ArrayRef<char> data;
};

/// Turns every `arith.constant dense_resource<...>` in `func` into a new
/// trailing function argument, in order of first use, so compiled code
/// receives weights from the runtime instead of embedding them. Constants
/// with the same resource share one argument.
LogicalResult externalizeWeights(func::FuncOp func,
                                 std::vector<ExternalWeight> &weights);

} // namespace mlir::fly

#endif // FLY_PIPELINES_ENTRYPOINTS_H

//===- Pipelines.cpp - fly pass pipelines -----------------------*- C++ -*-===//
//
// Pipelines compose upstream passes; each step says why it is there.
//
//===----------------------------------------------------------------------===//

#include "fly/Pipelines/Pipelines.h"
#include "fly/Conversion/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::fly::buildFlyReferenceCpuPipeline(
    OpPassManager &pm, const ReferenceCpuPipelineOptions &options) {
  pm.addPass(createConvertFlyToLinalg());
  // Inline wrappers (the checker's entry calls the function under test).
  pm.addPass(createInlinerPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  bufferization::BufferDeallocationPipelineOptions deallocOptions;
  bufferization::buildBufferDeallocationPipeline(pm, deallocOptions);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createFlyMemRefCopyToLinalg());

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createSCFToControlFlowPass());
  // expand-strided-metadata emits affine.apply: lower-affine must follow.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // Intrinsics where LLVM has them (exp, sqrt...), libm for the rest
  // (tanh, erf).
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  if (options.barePtrCallingConvention) {
    ConvertFuncToLLVMPassOptions funcOptions;
    funcOptions.useBarePtrCallConv = true;
    pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  }
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::fly::registerFlyPipelines() {
  PassPipelineRegistration<ReferenceCpuPipelineOptions>(
      "fly-reference-cpu-pipeline",
      "Lower fly through the reference lowering and naive loops to the LLVM "
      "dialect",
      buildFlyReferenceCpuPipeline);
}

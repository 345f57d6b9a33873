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
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {
/// Both CPU pipelines; `schedule` adds the tiled, vectorised, multithreaded
/// contractions (fly-cpu-pipeline), without it every op becomes naive
/// loops (the reference).
void buildCpuPipeline(OpPassManager &pm, bool barePtr, bool schedule,
                      int64_t numThreads) {
  pm.addPass(fly::createConvertFlyToLinalg());
  // Inline wrappers (the entry calls the function under test or the model).
  pm.addPass(createInlinerPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (schedule) {
    // tanh as exp-based arithmetic: LLVM vectorises it inside the GELU loop,
    // a libm tanhf call stays scalar.
    math::MathExpandOpsPassOptions expand;
    expand.opMnemonics = {"tanh"};
    pm.addPass(math::createMathExpandOpsPass(expand));
    fly::FlyCpuTileAndVectorizeOptions options;
    options.numThreads = numThreads;
    pm.addPass(fly::createFlyCpuTileAndVectorize(options));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }

  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  bufferization::BufferDeallocationPipelineOptions deallocOptions;
  bufferization::buildBufferDeallocationPipeline(pm, deallocOptions);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(fly::createFlyMemRefCopyToLinalg());

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  if (schedule) {
    pm.addPass(createForallToParallelLoopPass());
    ConvertSCFToOpenMPPassOptions ompOptions;
    ompOptions.numThreads = numThreads;
    pm.addPass(createConvertSCFToOpenMPPass(ompOptions));
    // Inlines the memref.alloca_scope the OpenMP conversion adds; without
    // it scf-to-cf fails on a multi-block region.
    pm.addPass(createCanonicalizerPass());
    // Unrolled, or transfers get stack temporaries inside the loops.
    pm.addPass(createConvertVectorToSCFPass(
        VectorTransferToSCFOptions().enableFullUnroll()));
  }
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createCanonicalizerPass());
  // expand-strided-metadata emits affine.apply: lower-affine must follow.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // Functions before any pass that may convert them with the default
  // (descriptor) calling convention.
  if (barePtr) {
    ConvertFuncToLLVMPassOptions funcOptions;
    funcOptions.useBarePtrCallConv = true;
    pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  }
  if (schedule) {
    pm.addPass(createConvertVectorToLLVMPass());
    pm.addPass(createConvertOpenMPToLLVMPass());
  }
  // Intrinsics where LLVM has them (exp, sqrt...), libm for the rest
  // (tanh, erf).
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
} // namespace

void mlir::fly::buildFlyReferenceCpuPipeline(
    OpPassManager &pm, const ReferenceCpuPipelineOptions &options) {
  buildCpuPipeline(pm, options.barePtrCallingConvention, /*schedule=*/false, 1);
}

void mlir::fly::buildFlyCpuPipeline(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  buildCpuPipeline(pm, options.barePtrCallingConvention, /*schedule=*/true,
                   options.numThreads);
}

void mlir::fly::registerFlyPipelines() {
  PassPipelineRegistration<ReferenceCpuPipelineOptions>(
      "fly-reference-cpu-pipeline",
      "Lower fly through the reference lowering and naive loops to the LLVM "
      "dialect",
      buildFlyReferenceCpuPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "fly-cpu-pipeline",
      "Lower fly to the LLVM dialect with tiled, vectorised, multithreaded "
      "(OpenMP) contractions",
      buildFlyCpuPipeline);
}

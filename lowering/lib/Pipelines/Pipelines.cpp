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
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {
/// Tensors to buffers, function boundaries included (identity layouts, so
/// entry points take plain buffers), deallocations inserted, and copies as
/// linalg.copy so that they are lowered like any other op (no MLIR runtime
/// library in artifacts).
void addBufferization(OpPassManager &pm) {
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
}

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

  addBufferization(pm);

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  if (schedule) {
    pm.addPass(createForallToParallelLoopPass());
    ConvertSCFToOpenMPPassOptions ompOptions;
    ompOptions.numThreads = numThreads;
    pm.addPass(createConvertSCFToOpenMPPass(ompOptions));
    // Inlines the memref.alloca_scope the OpenMP conversion adds; without
    // it scf-to-cf fails on a multi-block region.
    pm.addPass(createCanonicalizerPass());
  }
  // Unrolled, or transfers get stack temporaries inside the loops. (The
  // reference pipeline only sees vector ops in input that was vectorised
  // before it; lowering them keeps it usable on any fly-opt output.)
  pm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
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
  pm.addPass(createConvertVectorToLLVMPass());
  if (schedule)
    pm.addPass(createConvertOpenMPToLLVMPass());
  // Intrinsics where LLVM has them (exp, sqrt...), libm for the rest
  // (tanh, erf).
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Conversions are partial: name what could not be lowered instead of
  // handing LLVM IR translation a module it cannot take.
  fly::FlyCheckLoweredOptions check;
  check.pipeline = schedule ? "fly-cpu-pipeline" : "fly-reference-cpu-pipeline";
  check.dialects = {"llvm", "omp"};
  pm.addPass(fly::createFlyCheckLowered(check));
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

void mlir::fly::buildFlyGpuPipeline(OpPassManager &pm,
                                    const GpuPipelineOptions &options) {
  // fly.linear, fly.attention and fly.monarch_matmul stay for the GPU
  // kernels when they may take them.
  fly::ConvertFlyToLinalgOptions toLinalg;
  toLinalg.keepKernelOps = options.gemmKernels;
  pm.addPass(fly::createConvertFlyToLinalg(toLinalg));
  pm.addPass(createInlinerPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.storage != "f32") {
    fly::FlyConvertFloatStorageOptions storage;
    storage.storageType = options.storage;
    pm.addNestedPass<func::FuncOp>(fly::createFlyConvertFloatStorage(storage));
    pm.addPass(createCanonicalizerPass());
  }
  if (options.gemmKernels) {
    // While weights are constants (fly-compile runs it before it
    // externalises them; here it finds what fly-opt input still holds).
    pm.addPass(fly::createFlyGpuFoldLayerNorm());
    fly::FlyGpuWeightGemmsOptions gemms;
    gemms.chip = options.chip;
    gemms.schedule = options.gemmSchedule;
    gemms.epilogue = options.gemmEpilogue;
    gemms.producer = options.gemmProducer;
    gemms.persistentCtas = options.gemmPersistentCtas;
    pm.addPass(fly::createFlyGpuWeightGemms(gemms));
    fly::FlyGpuAttentionKernelsOptions attention;
    attention.chip = options.chip;
    pm.addPass(fly::createFlyGpuAttentionKernels(attention));
    fly::FlyGpuMonarchKernelsOptions monarch;
    monarch.chip = options.chip;
    monarch.splitFactors = options.monarchSplitFactors;
    monarch.hiddenKernel = options.monarchHiddenKernel;
    monarch.hiddenSchedule = options.monarchHiddenSchedule;
    pm.addPass(fly::createFlyGpuMonarchKernels(monarch));
    fly::FlyGpuLayerNormKernelsOptions layerNorm;
    layerNorm.chip = options.chip;
    pm.addPass(fly::createFlyGpuLayerNormKernels(layerNorm));
    if (options.producerRowStatistics != "off") {
      fly::FlyGpuProducerRowStatisticsOptions rowStatistics;
      rowStatistics.producers = options.producerRowStatistics;
      pm.addPass(fly::createFlyGpuProducerRowStatistics(rowStatistics));
    }
  }
  // What the kernels did not take.
  pm.addPass(fly::createConvertFlyToLinalg());
  // Producer-consumer chains of generics (LayerNorm's centring, scaling
  // and shifting; residual adds) become one kernel each: fewer launches and
  // no round trip through memory between them.
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());

  addBufferization(pm);

  pm.addPass(fly::createFlyGpuDefineKernels());
  pm.addNestedPass<func::FuncOp>(fly::createFlyGpuHostBuffers());
  // GEMM launchers into the model function: one async region, one stream.
  pm.addPass(createInlinerPass());
  // Everything left: one thread per output element.
  pm.addNestedPass<func::FuncOp>(fly::createFlyGpuMapParallelLoops());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Constants and index arithmetic into the kernels: extents become
  // immediates (divisions by them multiply-shifts), not kernel parameters.
  pm.addNestedPass<func::FuncOp>(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  // One stream per call, launches chained by tokens, one wait at the end:
  // without it every launch would synchronise.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createCanonicalizerPass());

  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  device.addPass(memref::createExpandStridedMetadataPass());
  device.addPass(createLowerAffinePass());
  // Before any scf-to-cf: loops carrying wgmma accumulators must be
  // converted structurally, as scf.
  device.addPass(createConvertNVGPUToNVVMPass());
  device.addPass(createConvertVectorToSCFPass());
  device.addPass(createSCFToControlFlowPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = 64;
  device.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  device.addPass(createConvertNVVMToLLVMPass());
  device.addPass(createCanonicalizerPass());
  device.addPass(createCSEPass());
  device.addPass(createReconcileUnrealizedCastsPass());

  // Host code (TMA descriptors become mgpuTensorMapEncodeTiledMemref calls).
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  if (options.barePtrCallingConvention) {
    ConvertFuncToLLVMPassOptions funcOptions;
    funcOptions.useBarePtrCallConv = true;
    pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  }
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  fly::FlyCheckLoweredOptions check;
  check.pipeline = "fly-gpu-pipeline";
  check.dialects = {"llvm", "gpu", "nvvm"};
  pm.addPass(fly::createFlyCheckLowered(check));
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkitPath;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void mlir::fly::registerFlyPipelines() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "fly-gpu-pipeline",
      "Lower fly to host LLVM code with an embedded NVIDIA GPU binary "
      "(Hopper GEMM kernels, generic kernels for the rest)",
      buildFlyGpuPipeline);
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

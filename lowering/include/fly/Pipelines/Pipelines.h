//===- Pipelines.h - fly pass pipelines -------------------------*- C++ -*-===//

#ifndef FLY_PIPELINES_PIPELINES_H
#define FLY_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace fly {

struct ReferenceCpuPipelineOptions
    : public PassPipelineOptions<ReferenceCpuPipelineOptions> {
  PassOptions::Option<bool> barePtrCallingConvention{
      *this, "bare-ptr-calling-convention",
      llvm::cl::desc("Pass statically shaped memrefs to functions as bare "
                     "pointers (what the JIT checker and the runtime call)"),
      llvm::cl::init(false)};
};

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<bool> barePtrCallingConvention{
      *this, "bare-ptr-calling-convention",
      llvm::cl::desc("Pass statically shaped memrefs as bare pointers"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> numThreads{
      *this, "num-threads",
      llvm::cl::desc("Threads for the parallel row blocks (OpenMP)"),
      llvm::cl::init(2)};
};

struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("NVIDIA target (sm_90a: wgmma and TMA need the 'a' "
                     "variant)"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features (ptx version)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("GPU binary format: fatbin (cubin + PTX, needs ptxas), "
                     "bin (cubin) or isa (PTX text, needs no CUDA)"),
      llvm::cl::init("fatbin")};
  PassOptions::Option<std::string> toolkitPath{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit directory (bin/ptxas) for bin/fatbin"),
      llvm::cl::init("")};
  PassOptions::Option<int> optLevel{*this, "opt-level",
                                    llvm::cl::desc("Device code -O level"),
                                    llvm::cl::init(3)};
  PassOptions::Option<bool> barePtrCallingConvention{
      *this, "bare-ptr-calling-convention",
      llvm::cl::desc("Host functions take statically shaped memrefs as bare "
                     "pointers"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> storage{
      *this, "storage",
      llvm::cl::desc("Float storage type: f32 (as imported), f16 or bf16 "
                     "(fly-convert-float-storage; compute stays f32)"),
      llvm::cl::init("f32")};
  PassOptions::Option<bool> gemmKernels{
      *this, "gemm-kernels",
      llvm::cl::desc("Lower matmuls with constant weights to wgmma kernels "
                     "(16-bit storage only)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> gemmSchedule{
      *this, "gemm-schedule",
      llvm::cl::desc("GEMM kernel schedule (fly-gpu-weight-gemms "
                     "schedule): auto, multistage or warp-specialized"),
      llvm::cl::init("auto")};
  PassOptions::Option<std::string> gemmEpilogue{
      *this, "gemm-epilogue",
      llvm::cl::desc("Warp-specialised GEMM epilogue (fly-gpu-weight-gemms "
                     "epilogue): auto, register or staging"),
      llvm::cl::init("auto")};
  PassOptions::Option<std::string> gemmProducer{
      *this, "gemm-producer",
      llvm::cl::desc("Warp-specialised GEMM producer (fly-gpu-weight-gemms "
                     "producer): warpgroup or warp"),
      llvm::cl::init("warpgroup")};
  PassOptions::Option<int64_t> gemmPersistentCtas{
      *this, "gemm-persistent-ctas",
      llvm::cl::desc("CTAs of a warp-specialised GEMM's persistent grid "
                     "(0: 132)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> producerRowStatistics{
      *this, "producer-row-statistics",
      llvm::cl::desc("A folded LayerNorm's row statistics written by the "
                     "kernel producing its input "
                     "(fly-gpu-producer-row-statistics) instead of a "
                     "separate kernel: all, gemm, monarch (which "
                     "producers) or off"),
      llvm::cl::init("all")};
  PassOptions::Option<bool> monarchHiddenKernel{
      *this, "monarch-hidden-kernel",
      llvm::cl::desc("A Monarch MLP runs as three kernels whose hidden layer "
                     "stays on chip (fly-gpu-monarch-kernels hidden-kernel)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> monarchHiddenSchedule{
      *this, "monarch-hidden-schedule",
      llvm::cl::desc("The Monarch MLP hidden kernel's schedule: producer "
                     "(default), lockstep or pingpong "
                     "(fly-gpu-monarch-kernels hidden-schedule)"),
      llvm::cl::init("producer")};
  PassOptions::Option<bool> monarchSplitFactors{
      *this, "monarch-split-factors",
      llvm::cl::desc("A Monarch matmul with the natural output and few rows "
                     "runs as two kernels (fly-gpu-monarch-kernels "
                     "split-factors)"),
      llvm::cl::init(true)};
};

/// The CUDA path: fly ops to linalg, 16-bit storage, Hopper GEMM kernels for
/// weight matmuls, every other op as a generic kernel (one thread per
/// output element), async launches on one stream, NVVM, a GPU binary
/// embedded in the host module.
void buildFlyGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// The fast CPU path: like the reference, but contractions are tiled,
/// vectorised (AVX-512 FMA outer products) and split over OpenMP threads.
void buildFlyCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// convert-fly-to-linalg, bufferization, naive loops, LLVM dialect: the
/// slow, simple path that defines the numbers faster lowerings must match.
void buildFlyReferenceCpuPipeline(OpPassManager &pm,
                                  const ReferenceCpuPipelineOptions &options);

/// Registers fly's pipelines with the global pass registry.
void registerFlyPipelines();

} // namespace fly
} // namespace mlir

#endif // FLY_PIPELINES_PIPELINES_H

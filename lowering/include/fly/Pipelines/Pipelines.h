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

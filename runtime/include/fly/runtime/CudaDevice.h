//===- CudaDevice.h - The CUDA side of the fly runtime ----------*- C++ -*-===//
//
// Compiled CUDA models (fly-compile --target cuda) are host code that calls
// the `mgpu*` functions of MLIR's GPU runtime ABI (module load, launch,
// allocation, copies, TMA descriptors). Debian ships no libmlir_cuda_runtime,
// so the fly runtime implements that ABI here, over the CUDA driver API.
//
// libcuda is opened with dlopen at initialize(), never linked: fly-run starts
// and runs CPU artifacts on machines without a GPU or driver, and a CUDA
// artifact there fails with a clear message instead of a loader error.
//
// The runtime owns one context (the primary context of device 0) and one
// stream; the compiled code's stream create/destroy map onto it. Device
// memory that the compiled code allocates per call comes from a caching pool,
// so steady-state calls do not pay for cuMemAlloc. Errors inside mgpu*
// functions cannot be returned to compiled code: the first one is kept and
// reported by takeError(), which Artifact::run checks after every call.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_RUNTIME_CUDADEVICE_H
#define FLY_RUNTIME_CUDADEVICE_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fly::runtime::cuda {

/// True when this runtime was built with the CUDA headers (FLY_HAVE_CUDA);
/// without them every CUDA entry point reports that it is unavailable.
bool builtWithCuda();

/// Loads libcuda.so.1, initialises device 0 (primary context) and the
/// runtime's stream. Idempotent; returns false with a message that says what
/// is missing (no driver, no device, ...).
bool initialize(std::string &error);

/// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"; empty before initialize().
std::string deviceDescription();

/// Plain device allocations for the runtime's own buffers (weights, inputs,
/// outputs); nullptr and `error` set on failure.
void *allocate(size_t bytes, std::string &error);
void release(void *ptr);
bool copyToDevice(void *dst, const void *src, size_t bytes, std::string &error);
bool copyToHost(void *dst, const void *src, size_t bytes, std::string &error);
/// Sets every byte of a device buffer (0xff poisons float outputs as NaN).
bool fill(void *dst, uint8_t byte, size_t bytes, std::string &error);
/// Waits for the runtime's stream; reports asynchronous kernel faults.
bool synchronize(std::string &error);

/// The first error raised inside an mgpu* call since the last takeError(),
/// or "" if none; clears it.
std::string takeError();

//===----------------------------------------------------------------------===//
// CUDA graphs: one model call recorded once, replayed without host code
//===----------------------------------------------------------------------===//

/// Records what `body` enqueues on the runtime's stream as a CUDA graph
/// (relaxed capture: nothing runs; the synchronisations the compiled code
/// asks for are skipped while capturing) and instantiates it. The graph
/// holds the addresses the call used: replaying it is only valid while the
/// same buffers (inputs, outputs, weights, pooled temporaries, TMA
/// descriptors) stay allocated, which the runtime guarantees for an
/// artifact's own buffers after one uncaptured call has warmed its caches.
/// False with `error` set (and no graph) if the capture failed.
bool captureGraph(const std::function<void()> &body, void *&graph,
                  std::string &error);
/// Enqueues one replay of a captured graph; synchronize() waits for it.
bool launchGraph(void *graph, std::string &error);
void destroyGraph(void *graph);
/// True between beginProfile() and endProfile() (graphs are not replayed
/// then: the profile needs an event pair around every launch).
bool profiling();

//===----------------------------------------------------------------------===//
// Per-launch profiling
//===----------------------------------------------------------------------===//

/// One kernel launch timed with a CUDA event pair.
struct KernelRecord {
  std::string name;
  double startMs = 0;    ///< From the first recorded launch's start event.
  double durationMs = 0; ///< Between the launch's two events.
  uint32_t grid[3] = {1, 1, 1};
  uint32_t block[3] = {1, 1, 1};
  uint32_t sharedBytes = 0;
};

/// From now on every launch records an event pair.
void beginProfile();
/// Stops recording, waits for the stream and returns the launches since
/// beginProfile() in launch order.
bool endProfile(std::vector<KernelRecord> &records, std::string &error);

/// Per-kernel totals over a profile, ordered by total time (largest first).
struct KernelSummary {
  std::string name;
  size_t launches = 0;
  double totalMs = 0;
};
std::vector<KernelSummary>
summarizeProfile(const std::vector<KernelRecord> &records);

/// Chrome trace-event JSON ("traceEvents" of complete events, microseconds)
/// for chrome://tracing and Perfetto: one track per model call.
std::string
chromeTraceJson(const std::vector<std::vector<KernelRecord>> &calls);

//===----------------------------------------------------------------------===//
// Pieces that need no GPU (unit-tested)
//===----------------------------------------------------------------------===//

/// A size-bucketed caching allocator over `alloc`/`free` callbacks. Sizes are
/// rounded up to 512 bytes; a freed block is reused for a later request of
/// the same rounded size. All users share one stream, so stream order makes
/// reuse safe without events.
class CachingPool {
public:
  using AllocFn = std::function<void *(size_t)>;
  using FreeFn = std::function<void(void *)>;
  CachingPool(AllocFn alloc, FreeFn free)
      : allocFn(std::move(alloc)), freeFn(std::move(free)) {}
  ~CachingPool() { trim(); }
  CachingPool(const CachingPool &) = delete;
  CachingPool &operator=(const CachingPool &) = delete;

  /// nullptr when the underlying allocator fails even after trimming.
  void *allocate(size_t bytes);
  /// False for a pointer this pool did not hand out (or freed twice).
  bool deallocate(void *ptr);
  /// Returns every cached (free) block to the underlying allocator.
  void trim();

  size_t bytesInUse() const { return inUse; }
  size_t bytesCached() const { return cached; }
  size_t underlyingAllocations() const { return allocations; }

  static size_t roundedSize(size_t bytes) {
    return bytes == 0 ? 512 : (bytes + 511) / 512 * 512;
  }

private:
  AllocFn allocFn;
  FreeFn freeFn;
  std::multimap<size_t, void *> freeBlocks;
  std::map<void *, size_t> liveBlocks;
  size_t inUse = 0, cached = 0, allocations = 0;
};

/// The arguments of cuTensorMapEncodeTiled for a strided memref descriptor:
/// CUDA wants dimensions innermost first, strides in bytes without the
/// innermost one, and box sizes innermost first.
struct TensorMapArgs {
  uint32_t rank = 0;
  const void *address = nullptr;
  uint64_t globalDim[5] = {1, 1, 1, 1, 1};
  uint64_t globalStrides[5] = {0, 0, 0, 0, 0}; ///< rank-1 entries, bytes
  uint32_t boxDim[5] = {1, 1, 1, 1, 1};
  uint32_t elementStrides[5] = {1, 1, 1, 1, 1};
};

/// Element size in bytes of a CUtensorMapDataType value, 0 if unknown.
size_t tensorMapElementBytes(int64_t dataType);

/// Builds the arguments from an MLIR memref descriptor laid out as
/// {allocated, aligned, offset, sizes[rank], strides[rank]} (all 64-bit) and
/// box sizes in MLIR (outermost-first) order. Checks what the driver would
/// reject less clearly: rank 1..5, a 16-byte aligned address, byte strides
/// that are multiples of 16, unit innermost stride, boxes in [1, 256].
bool makeTensorMapArgs(int64_t rank, const void *memrefDescriptor,
                       int64_t dataType, const int64_t *boxDims,
                       TensorMapArgs &args, std::string &error);

} // namespace fly::runtime::cuda

#endif // FLY_RUNTIME_CUDADEVICE_H

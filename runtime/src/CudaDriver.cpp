//===- CudaDriver.cpp - MLIR's mgpu* ABI over the CUDA driver API ---------===//
//
// Built only with the CUDA headers (FLY_HAVE_CUDA). The driver library is
// opened at run time (see CudaDevice.h for why) and every function is looked
// up through cuGetProcAddress with the header's CUDA_VERSION, so the
// versioned entry points (_v2, ...) match the prototypes compiled against.
//
// The extern "C" mgpu* functions follow the signatures LLVM 22's
// gpu-to-llvm lowering and GPU module translation emit; fly-run exports them
// so that a dlopen'ed model.so resolves against them.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/CudaDevice.h"

#include <cuda.h>

#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <mutex>
#include <unordered_map>

using namespace fly::runtime::cuda;

namespace {

/// The driver functions the runtime calls, looked up once.
struct Driver {
#define FLY_CU_FN(name) decltype(&::name) name = nullptr;
  FLY_CU_FN(cuInit)
  FLY_CU_FN(cuGetErrorString)
  FLY_CU_FN(cuDeviceGet)
  FLY_CU_FN(cuDeviceGetCount)
  FLY_CU_FN(cuDeviceGetName)
  FLY_CU_FN(cuDeviceGetAttribute)
  FLY_CU_FN(cuDevicePrimaryCtxRetain)
  FLY_CU_FN(cuCtxSetCurrent)
  FLY_CU_FN(cuModuleLoadData)
  FLY_CU_FN(cuModuleLoadDataEx)
  FLY_CU_FN(cuModuleUnload)
  FLY_CU_FN(cuModuleGetFunction)
  FLY_CU_FN(cuFuncSetAttribute)
  FLY_CU_FN(cuLaunchKernel)
  FLY_CU_FN(cuLaunchKernelEx)
  FLY_CU_FN(cuStreamCreate)
  FLY_CU_FN(cuStreamSynchronize)
  FLY_CU_FN(cuStreamWaitEvent)
  FLY_CU_FN(cuEventCreate)
  FLY_CU_FN(cuEventDestroy)
  FLY_CU_FN(cuEventRecord)
  FLY_CU_FN(cuEventSynchronize)
  FLY_CU_FN(cuEventElapsedTime)
  FLY_CU_FN(cuMemAlloc)
  FLY_CU_FN(cuMemFree)
  FLY_CU_FN(cuMemcpyAsync)
  FLY_CU_FN(cuMemsetD8Async)
  FLY_CU_FN(cuMemsetD16Async)
  FLY_CU_FN(cuMemsetD32Async)
  FLY_CU_FN(cuTensorMapEncodeTiled)
  FLY_CU_FN(cuMemcpyHtoD)
  FLY_CU_FN(cuStreamBeginCapture)
  FLY_CU_FN(cuStreamEndCapture)
  FLY_CU_FN(cuGraphInstantiateWithFlags)
  FLY_CU_FN(cuGraphLaunch)
  FLY_CU_FN(cuGraphExecDestroy)
  FLY_CU_FN(cuGraphDestroy)
#undef FLY_CU_FN
};

/// Everything the runtime holds; created by initialize() and never torn
/// down (modules unload from model.so's global destructors, which may run
/// at process exit after any destructor of ours).
struct State {
  Driver cu;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  std::string description;
  std::unique_ptr<CachingPool> pool;
  std::unordered_map<CUfunction, std::string> functionNames;
  std::unordered_map<CUfunction, int> sharedLimit;
  /// TMA descriptors by their encoding arguments: model code creates them
  /// on every call, the runtime encodes and uploads each distinct one once.
  std::unordered_map<std::string, CUdeviceptr> tensorMaps;
  std::string firstError;
  bool profiling = false;
  /// Inside captureGraph(): stream synchronisations are skipped.
  bool capturing = false;
  struct PendingLaunch {
    KernelRecord record;
    CUevent start, stop;
  };
  std::vector<PendingLaunch> pending;
  std::vector<CUevent> eventPool;
};

State *state = nullptr;
std::mutex initMutex;

std::string resultString(CUresult result) {
  const char *text = nullptr;
  if (state && state->cu.cuGetErrorString)
    state->cu.cuGetErrorString(result, &text);
  return text ? text : "CUDA error " + std::to_string(int(result));
}

/// Records the first error of an mgpu* call (compiled code cannot receive
/// it) and prints every one, so a failing run also leaves a trace.
void reportError(const char *where, CUresult result) {
  std::string message = std::string(where) + ": " + resultString(result);
  std::fprintf(stderr, "fly runtime: %s\n", message.c_str());
  if (state && state->firstError.empty())
    state->firstError = message;
}

bool check(CUresult result, const char *where, std::string &error) {
  if (result == CUDA_SUCCESS)
    return true;
  error = std::string(where) + ": " + resultString(result);
  return false;
}

bool loadDriver(Driver &cu, std::string &error) {
  void *lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    const char *why = ::dlerror();
    error = std::string("cannot load the CUDA driver (libcuda.so.1): ") +
            (why ? why : "unknown error") +
            "; --target cuda artifacts need an NVIDIA GPU and its driver";
    return false;
  }
  using GetProc = CUresult (*)(const char *, void **, int, cuuint64_t,
                               CUdriverProcAddressQueryResult *);
  auto getProc = reinterpret_cast<GetProc>(::dlsym(lib, "cuGetProcAddress_v2"));
  if (!getProc) {
    error = "the CUDA driver is too old: it has no cuGetProcAddress_v2 "
            "(CUDA 12 or newer is needed)";
    return false;
  }
  bool ok = true;
  auto lookup = [&](const char *name, void **slot) {
    CUdriverProcAddressQueryResult status;
    if (getProc(name, slot, CUDA_VERSION, CU_GET_PROC_ADDRESS_DEFAULT,
                &status) != CUDA_SUCCESS ||
        !*slot) {
      if (ok)
        error = std::string("the CUDA driver has no ") + name + " for CUDA " +
                std::to_string(CUDA_VERSION / 1000) + "." +
                std::to_string(CUDA_VERSION % 1000 / 10) +
                " (update the driver)";
      ok = false;
    }
  };
#define FLY_CU_LOOKUP(name) lookup(#name, reinterpret_cast<void **>(&cu.name));
  FLY_CU_LOOKUP(cuInit)
  FLY_CU_LOOKUP(cuGetErrorString)
  FLY_CU_LOOKUP(cuDeviceGet)
  FLY_CU_LOOKUP(cuDeviceGetCount)
  FLY_CU_LOOKUP(cuDeviceGetName)
  FLY_CU_LOOKUP(cuDeviceGetAttribute)
  FLY_CU_LOOKUP(cuDevicePrimaryCtxRetain)
  FLY_CU_LOOKUP(cuCtxSetCurrent)
  FLY_CU_LOOKUP(cuModuleLoadData)
  FLY_CU_LOOKUP(cuModuleLoadDataEx)
  FLY_CU_LOOKUP(cuModuleUnload)
  FLY_CU_LOOKUP(cuModuleGetFunction)
  FLY_CU_LOOKUP(cuFuncSetAttribute)
  FLY_CU_LOOKUP(cuLaunchKernel)
  FLY_CU_LOOKUP(cuLaunchKernelEx)
  FLY_CU_LOOKUP(cuStreamCreate)
  FLY_CU_LOOKUP(cuStreamSynchronize)
  FLY_CU_LOOKUP(cuStreamWaitEvent)
  FLY_CU_LOOKUP(cuEventCreate)
  FLY_CU_LOOKUP(cuEventDestroy)
  FLY_CU_LOOKUP(cuEventRecord)
  FLY_CU_LOOKUP(cuEventSynchronize)
  FLY_CU_LOOKUP(cuEventElapsedTime)
  FLY_CU_LOOKUP(cuMemAlloc)
  FLY_CU_LOOKUP(cuMemFree)
  FLY_CU_LOOKUP(cuMemcpyAsync)
  FLY_CU_LOOKUP(cuMemsetD8Async)
  FLY_CU_LOOKUP(cuMemsetD16Async)
  FLY_CU_LOOKUP(cuMemsetD32Async)
  FLY_CU_LOOKUP(cuTensorMapEncodeTiled)
  FLY_CU_LOOKUP(cuMemcpyHtoD)
  FLY_CU_LOOKUP(cuStreamBeginCapture)
  FLY_CU_LOOKUP(cuStreamEndCapture)
  FLY_CU_LOOKUP(cuGraphInstantiateWithFlags)
  FLY_CU_LOOKUP(cuGraphLaunch)
  FLY_CU_LOOKUP(cuGraphExecDestroy)
  FLY_CU_LOOKUP(cuGraphDestroy)
#undef FLY_CU_LOOKUP
  return ok;
}

/// For mgpu* entry points: the state, initialising on first use (a model's
/// module-load constructor runs at dlopen, possibly before any explicit
/// initialize()). Null after reporting when CUDA is unusable.
State *ensureState() {
  if (state)
    return state;
  std::string error;
  if (!initialize(error)) {
    std::fprintf(stderr, "fly runtime: %s\n", error.c_str());
    return nullptr;
  }
  return state;
}

CUevent takeEvent() {
  if (!state->eventPool.empty()) {
    CUevent event = state->eventPool.back();
    state->eventPool.pop_back();
    return event;
  }
  CUevent event = nullptr;
  if (CUresult r = state->cu.cuEventCreate(&event, CU_EVENT_DEFAULT))
    reportError("cuEventCreate", r);
  return event;
}

} // namespace

//===----------------------------------------------------------------------===//
// fly::runtime::cuda
//===----------------------------------------------------------------------===//

namespace fly::runtime::cuda {

bool initialize(std::string &error) {
  std::lock_guard<std::mutex> lock(initMutex);
  if (state)
    return true;
  auto s = std::make_unique<State>();
  Driver &cu = s->cu;
  if (!loadDriver(cu, error))
    return false;
  // resultString() needs `state` for cuGetErrorString: publish the driver
  // table early through a temporary.
  State *previous = state;
  state = s.get();
  auto fail = [&](const std::string &message) {
    error = message;
    state = previous;
    return false;
  };
  std::string why;
  if (!check(cu.cuInit(0), "cuInit", why))
    return fail(why + " (is an NVIDIA GPU visible to this process?)");
  int count = 0;
  if (!check(cu.cuDeviceGetCount(&count), "cuDeviceGetCount", why))
    return fail(why);
  if (count == 0)
    return fail("the CUDA driver sees no GPU");
  if (!check(cu.cuDeviceGet(&s->device, 0), "cuDeviceGet", why) ||
      !check(cu.cuDevicePrimaryCtxRetain(&s->context, s->device),
             "cuDevicePrimaryCtxRetain", why) ||
      !check(cu.cuCtxSetCurrent(s->context), "cuCtxSetCurrent", why) ||
      !check(cu.cuStreamCreate(&s->stream, CU_STREAM_NON_BLOCKING),
             "cuStreamCreate", why))
    return fail(why);
  char name[256] = {0};
  cu.cuDeviceGetName(name, sizeof(name) - 1, s->device);
  int major = 0, minor = 0, sms = 0;
  cu.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                          s->device);
  cu.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                          s->device);
  cu.cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                          s->device);
  s->description = std::string(name) + " (sm_" + std::to_string(major) +
                   std::to_string(minor) + ", " + std::to_string(sms) + " SMs)";
  State *raw = s.get();
  s->pool = std::make_unique<CachingPool>(
      [raw](size_t bytes) -> void * {
        CUdeviceptr ptr = 0;
        if (raw->cu.cuMemAlloc(&ptr, bytes) != CUDA_SUCCESS)
          return nullptr;
        return reinterpret_cast<void *>(ptr);
      },
      [raw](void *ptr) {
        raw->cu.cuMemFree(reinterpret_cast<CUdeviceptr>(ptr));
      });
  state = s.release();
  return true;
}

std::string deviceDescription() { return state ? state->description : ""; }

void *allocate(size_t bytes, std::string &error) {
  if (!state && !initialize(error))
    return nullptr;
  CUdeviceptr ptr = 0;
  if (!check(state->cu.cuMemAlloc(&ptr, bytes ? bytes : 1), "cuMemAlloc",
             error)) {
    error += " (" + std::to_string(bytes) + " bytes)";
    return nullptr;
  }
  return reinterpret_cast<void *>(ptr);
}

void release(void *ptr) {
  if (state && ptr)
    state->cu.cuMemFree(reinterpret_cast<CUdeviceptr>(ptr));
}

bool copyToDevice(void *dst, const void *src, size_t bytes,
                  std::string &error) {
  if (!state && !initialize(error))
    return false;
  return check(state->cu.cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                                       reinterpret_cast<CUdeviceptr>(src),
                                       bytes, state->stream),
               "copy to device", error) &&
         synchronize(error);
}

bool copyToHost(void *dst, const void *src, size_t bytes, std::string &error) {
  if (!state && !initialize(error))
    return false;
  return check(state->cu.cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                                       reinterpret_cast<CUdeviceptr>(src),
                                       bytes, state->stream),
               "copy to host", error) &&
         synchronize(error);
}

bool fill(void *dst, uint8_t byte, size_t bytes, std::string &error) {
  if (!state && !initialize(error))
    return false;
  return check(state->cu.cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(dst),
                                         byte, bytes, state->stream),
               "cuMemsetD8Async", error);
}

bool synchronize(std::string &error) {
  if (!state && !initialize(error))
    return false;
  return check(state->cu.cuStreamSynchronize(state->stream),
               "cuStreamSynchronize", error);
}

std::string takeError() {
  if (!state)
    return "";
  std::string error;
  error.swap(state->firstError);
  return error;
}

bool captureGraph(const std::function<void()> &body, void *&graph,
                  std::string &error) {
  graph = nullptr;
  if (!state && !initialize(error))
    return false;
  State *s = state;
  if (!check(
          s->cu.cuStreamBeginCapture(s->stream, CU_STREAM_CAPTURE_MODE_RELAXED),
          "cuStreamBeginCapture", error))
    return false;
  s->capturing = true;
  body();
  s->capturing = false;
  CUgraph recorded = nullptr;
  CUresult ended = s->cu.cuStreamEndCapture(s->stream, &recorded);
  std::string inside = takeError();
  if (!inside.empty() || ended != CUDA_SUCCESS) {
    if (recorded)
      s->cu.cuGraphDestroy(recorded);
    error =
        !inside.empty() ? inside : "cuStreamEndCapture: " + resultString(ended);
    return false;
  }
  CUgraphExec exec = nullptr;
  bool ok = check(s->cu.cuGraphInstantiateWithFlags(&exec, recorded, 0),
                  "cuGraphInstantiate", error);
  s->cu.cuGraphDestroy(recorded);
  if (ok)
    graph = exec;
  return ok;
}

bool launchGraph(void *graph, std::string &error) {
  if (!state && !initialize(error))
    return false;
  return check(
      state->cu.cuGraphLaunch(static_cast<CUgraphExec>(graph), state->stream),
      "cuGraphLaunch", error);
}

void destroyGraph(void *graph) {
  if (state && graph)
    state->cu.cuGraphExecDestroy(static_cast<CUgraphExec>(graph));
}

bool profiling() { return state && state->profiling; }

void beginProfile() {
  if (!state)
    return;
  state->pending.clear();
  state->profiling = true;
}

bool endProfile(std::vector<KernelRecord> &records, std::string &error) {
  records.clear();
  if (!state && !initialize(error))
    return false;
  state->profiling = false;
  bool ok = synchronize(error);
  CUevent origin = state->pending.empty() ? nullptr : state->pending[0].start;
  for (State::PendingLaunch &p : state->pending) {
    float duration = 0, start = 0;
    if (ok)
      ok = check(state->cu.cuEventElapsedTime(&duration, p.start, p.stop),
                 "cuEventElapsedTime", error) &&
           check(state->cu.cuEventElapsedTime(&start, origin, p.start),
                 "cuEventElapsedTime", error);
    p.record.durationMs = duration;
    p.record.startMs = start;
    records.push_back(p.record);
  }
  for (State::PendingLaunch &p : state->pending) {
    state->eventPool.push_back(p.start);
    state->eventPool.push_back(p.stop);
  }
  state->pending.clear();
  return ok;
}

} // namespace fly::runtime::cuda

//===----------------------------------------------------------------------===//
// MLIR's GPU runtime ABI (LLVM 22)
//===----------------------------------------------------------------------===//

#define FLY_MGPU_EXPORT extern "C" __attribute__((visibility("default")))

FLY_MGPU_EXPORT void *mgpuModuleLoad(void *data, size_t /*size*/) {
  State *s = ensureState();
  if (!s)
    return nullptr;
  CUmodule module = nullptr;
  if (CUresult r = s->cu.cuModuleLoadData(&module, data))
    reportError("cuModuleLoadData (the GPU binary in model.so)", r);
  return module;
}

FLY_MGPU_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel,
                                        size_t /*size*/) {
  State *s = ensureState();
  if (!s)
    return nullptr;
  CUmodule module = nullptr;
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {reinterpret_cast<void *>(intptr_t(optLevel))};
  if (CUresult r = s->cu.cuModuleLoadDataEx(&module, data, 1, options, values))
    reportError("cuModuleLoadDataEx (JIT of the PTX in model.so)", r);
  return module;
}

FLY_MGPU_EXPORT void mgpuModuleUnload(void *module) {
  // At process exit the driver may already be shut down; nothing to report.
  if (state && module)
    state->cu.cuModuleUnload(static_cast<CUmodule>(module));
}

FLY_MGPU_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  State *s = ensureState();
  if (!s || !module)
    return nullptr;
  CUfunction function = nullptr;
  if (CUresult r = s->cu.cuModuleGetFunction(
          &function, static_cast<CUmodule>(module), name))
    reportError("cuModuleGetFunction", r);
  else
    s->functionNames[function] = name;
  return function;
}

namespace {
/// One launch; a cluster of more than one CTA goes through
/// cuLaunchKernelEx with the cluster-dimension attribute.
void launchKernel(void *function, const unsigned cluster[3], intptr_t gridX,
                  intptr_t gridY, intptr_t gridZ, intptr_t blockX,
                  intptr_t blockY, intptr_t blockZ, int32_t smem, void *stream,
                  void **params, void **extra) {
  State *s = ensureState();
  if (!s)
    return;
  // After a recorded error (a failed allocation, a kernel that did not
  // load) the call fails anyway: launching would hand kernels null buffers
  // and turn a clear error into an illegal address that poisons the context.
  if (!s->firstError.empty())
    return;
  if (!function) {
    if (s->firstError.empty())
      s->firstError = "launch of a kernel that failed to load";
    return;
  }
  auto fn = static_cast<CUfunction>(function);
  // More than 48 KB of dynamic shared memory must be opted into per kernel.
  if (smem > 48 * 1024) {
    int &limit = s->sharedLimit[fn];
    if (limit < smem) {
      if (CUresult r = s->cu.cuFuncSetAttribute(
              fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem)) {
        reportError("cuFuncSetAttribute(max dynamic shared memory)", r);
        return;
      }
      limit = smem;
    }
  }
  auto cuStream = static_cast<CUstream>(stream ? stream : s->stream);
  State::PendingLaunch launch;
  if (s->profiling) {
    launch.start = takeEvent();
    launch.stop = takeEvent();
    s->cu.cuEventRecord(launch.start, cuStream);
  }
  bool clustered = cluster[0] * cluster[1] * cluster[2] > 1;
  CUresult r;
  if (clustered) {
    CUlaunchAttribute attribute{};
    attribute.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    attribute.value.clusterDim.x = cluster[0];
    attribute.value.clusterDim.y = cluster[1];
    attribute.value.clusterDim.z = cluster[2];
    CUlaunchConfig config{};
    config.gridDimX = unsigned(gridX), config.gridDimY = unsigned(gridY);
    config.gridDimZ = unsigned(gridZ);
    config.blockDimX = unsigned(blockX), config.blockDimY = unsigned(blockY);
    config.blockDimZ = unsigned(blockZ);
    config.sharedMemBytes = unsigned(smem);
    config.hStream = cuStream;
    config.attrs = &attribute;
    config.numAttrs = 1;
    r = s->cu.cuLaunchKernelEx(&config, fn, params, extra);
  } else {
    r = s->cu.cuLaunchKernel(fn, unsigned(gridX), unsigned(gridY),
                             unsigned(gridZ), unsigned(blockX),
                             unsigned(blockY), unsigned(blockZ), unsigned(smem),
                             cuStream, params, extra);
  }
  if (r) {
    std::string where =
        std::string(clustered ? "cuLaunchKernelEx(" : "cuLaunchKernel(") +
        s->functionNames[fn] + ")";
    reportError(where.c_str(), r);
    return;
  }
  if (s->profiling) {
    s->cu.cuEventRecord(launch.stop, cuStream);
    KernelRecord &k = launch.record;
    k.name = s->functionNames[fn];
    k.grid[0] = unsigned(gridX), k.grid[1] = unsigned(gridY);
    k.grid[2] = unsigned(gridZ);
    k.block[0] = unsigned(blockX), k.block[1] = unsigned(blockY);
    k.block[2] = unsigned(blockZ);
    k.sharedBytes = unsigned(smem);
    s->pending.push_back(std::move(launch));
  }
}
} // namespace

FLY_MGPU_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                      intptr_t gridY, intptr_t gridZ,
                                      intptr_t blockX, intptr_t blockY,
                                      intptr_t blockZ, int32_t smem,
                                      void *stream, void **params, void **extra,
                                      size_t /*paramsCount*/) {
  const unsigned single[3] = {1, 1, 1};
  launchKernel(function, single, gridX, gridY, gridZ, blockX, blockY, blockZ,
               smem, stream, params, extra);
}

/// gpu.launch_func with `clusters in (...)` (thread block clusters, sm_90).
/// MLIR 22's GPU-to-LLVM lowering passes no parameter count here.
FLY_MGPU_EXPORT void
mgpuLaunchClusterKernel(void *function, intptr_t clusterX, intptr_t clusterY,
                        intptr_t clusterZ, intptr_t gridX, intptr_t gridY,
                        intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                        intptr_t blockZ, int32_t smem, void *stream,
                        void **params, void **extra) {
  const unsigned cluster[3] = {unsigned(clusterX), unsigned(clusterY),
                               unsigned(clusterZ)};
  launchKernel(function, cluster, gridX, gridY, gridZ, blockX, blockY, blockZ,
               smem, stream, params, extra);
}

/// All compiled code shares the runtime's stream: one ordered queue, so
/// pooled memory can be reused without cross-stream events.
FLY_MGPU_EXPORT void *mgpuStreamCreate() {
  State *s = ensureState();
  return s ? s->stream : nullptr;
}

FLY_MGPU_EXPORT void mgpuStreamDestroy(void * /*stream*/) {}

FLY_MGPU_EXPORT void mgpuStreamSynchronize(void *stream) {
  State *s = ensureState();
  if (!s || s->capturing)
    return;
  if (CUresult r = s->cu.cuStreamSynchronize(
          static_cast<CUstream>(stream ? stream : s->stream)))
    reportError("cuStreamSynchronize (a kernel failed)", r);
}

FLY_MGPU_EXPORT void mgpuStreamWaitEvent(void *stream, void *event) {
  State *s = ensureState();
  if (!s)
    return;
  if (CUresult r = s->cu.cuStreamWaitEvent(static_cast<CUstream>(stream),
                                           static_cast<CUevent>(event), 0))
    reportError("cuStreamWaitEvent", r);
}

FLY_MGPU_EXPORT void *mgpuEventCreate() {
  State *s = ensureState();
  if (!s)
    return nullptr;
  CUevent event = nullptr;
  if (CUresult r = s->cu.cuEventCreate(&event, CU_EVENT_DISABLE_TIMING))
    reportError("cuEventCreate", r);
  return event;
}

FLY_MGPU_EXPORT void mgpuEventDestroy(void *event) {
  if (state && event)
    state->cu.cuEventDestroy(static_cast<CUevent>(event));
}

FLY_MGPU_EXPORT void mgpuEventSynchronize(void *event) {
  State *s = ensureState();
  if (!s || s->capturing)
    return;
  if (CUresult r = s->cu.cuEventSynchronize(static_cast<CUevent>(event)))
    reportError("cuEventSynchronize", r);
}

FLY_MGPU_EXPORT void mgpuEventRecord(void *event, void *stream) {
  State *s = ensureState();
  if (!s)
    return;
  if (CUresult r = s->cu.cuEventRecord(static_cast<CUevent>(event),
                                       static_cast<CUstream>(stream)))
    reportError("cuEventRecord", r);
}

FLY_MGPU_EXPORT void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/,
                                   bool hostShared) {
  State *s = ensureState();
  if (!s)
    return nullptr;
  if (hostShared) {
    if (s->firstError.empty())
      s->firstError = "gpu.alloc host_shared is not supported by the fly "
                      "runtime (managed memory)";
    return nullptr;
  }
  void *ptr = s->pool->allocate(bytes);
  if (!ptr && s->firstError.empty())
    s->firstError =
        "out of device memory allocating " + std::to_string(bytes) + " bytes";
  return ptr;
}

FLY_MGPU_EXPORT void mgpuMemFree(void *ptr, void * /*stream*/) {
  if (!state || !ptr)
    return;
  if (!state->pool->deallocate(ptr) && state->firstError.empty())
    state->firstError = "gpu.dealloc of a pointer the runtime did not allocate";
}

FLY_MGPU_EXPORT void mgpuMemcpy(void *dst, void *src, size_t bytes,
                                void *stream) {
  State *s = ensureState();
  if (!s)
    return;
  if (CUresult r = s->cu.cuMemcpyAsync(
          reinterpret_cast<CUdeviceptr>(dst),
          reinterpret_cast<CUdeviceptr>(src), bytes,
          static_cast<CUstream>(stream ? stream : s->stream)))
    reportError("cuMemcpyAsync", r);
}

FLY_MGPU_EXPORT void mgpuMemset32(void *dst, unsigned int value, size_t count,
                                  void *stream) {
  State *s = ensureState();
  if (!s)
    return;
  if (CUresult r = s->cu.cuMemsetD32Async(
          reinterpret_cast<CUdeviceptr>(dst), value, count,
          static_cast<CUstream>(stream ? stream : s->stream)))
    reportError("cuMemsetD32Async", r);
}

FLY_MGPU_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                                  void *stream) {
  State *s = ensureState();
  if (!s)
    return;
  if (CUresult r = s->cu.cuMemsetD16Async(
          reinterpret_cast<CUdeviceptr>(dst), value, count,
          static_cast<CUstream>(stream ? stream : s->stream)))
    reportError("cuMemsetD16Async", r);
}

FLY_MGPU_EXPORT void *mgpuTensorMapEncodeTiledMemref(
    int64_t rank, void *memrefDescriptor, int64_t dataType, int64_t interleave,
    int64_t swizzle, int64_t l2Promotion, int64_t oobFill, int64_t *boxDims) {
  State *s = ensureState();
  if (!s)
    return nullptr;
  TensorMapArgs args;
  std::string error;
  if (!makeTensorMapArgs(rank, memrefDescriptor, dataType, boxDims, args,
                         error)) {
    std::fprintf(stderr, "fly runtime: %s\n", error.c_str());
    if (s->firstError.empty())
      s->firstError = error;
    return nullptr;
  }
  char key[512];
  std::snprintf(key, sizeof(key),
                "%p|%u|%lld|%lld|%lld|%lld|%lld|%llu,%llu,%llu,%llu,%llu|"
                "%llu,%llu,%llu,%llu|%u,%u,%u,%u,%u",
                args.address, args.rank, (long long)dataType,
                (long long)interleave, (long long)swizzle,
                (long long)l2Promotion, (long long)oobFill,
                (unsigned long long)args.globalDim[0],
                (unsigned long long)args.globalDim[1],
                (unsigned long long)args.globalDim[2],
                (unsigned long long)args.globalDim[3],
                (unsigned long long)args.globalDim[4],
                (unsigned long long)args.globalStrides[0],
                (unsigned long long)args.globalStrides[1],
                (unsigned long long)args.globalStrides[2],
                (unsigned long long)args.globalStrides[3], args.boxDim[0],
                args.boxDim[1], args.boxDim[2], args.boxDim[3], args.boxDim[4]);
  auto found = s->tensorMaps.find(key);
  if (found != s->tensorMaps.end())
    return reinterpret_cast<void *>(found->second);

  CUtensorMap map;
  if (CUresult r = s->cu.cuTensorMapEncodeTiled(
          &map, CUtensorMapDataType(dataType), args.rank,
          const_cast<void *>(args.address), args.globalDim, args.globalStrides,
          args.boxDim, args.elementStrides, CUtensorMapInterleave(interleave),
          CUtensorMapSwizzle(swizzle), CUtensorMapL2promotion(l2Promotion),
          CUtensorMapFloatOOBfill(oobFill))) {
    reportError("cuTensorMapEncodeTiled", r);
    return nullptr;
  }
  CUdeviceptr device = 0;
  if (CUresult r = s->cu.cuMemAlloc(&device, sizeof(map))) {
    reportError("cuMemAlloc (TMA descriptor)", r);
    return nullptr;
  }
  // Synchronous (`map` is a stack object) and not on the runtime's stream,
  // so that it also works while a graph is being captured.
  if (CUresult r = s->cu.cuMemcpyHtoD(device, &map, sizeof(map))) {
    reportError("uploading a TMA descriptor", r);
    return nullptr;
  }
  s->tensorMaps.emplace(key, device);
  return reinterpret_cast<void *>(device);
}

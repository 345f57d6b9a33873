//===- CudaSupport.cpp - GPU-independent parts of the CUDA runtime --------===//
//
// The caching pool, TMA argument conversion and profile formatting need no
// driver, so they are built (and unit-tested) everywhere. Without the CUDA
// headers this file also provides the entry points that report the runtime
// was built without CUDA.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/CudaDevice.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <unordered_map>

namespace fly::runtime::cuda {

bool builtWithCuda() {
#ifdef FLY_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

//===----------------------------------------------------------------------===//
// CachingPool
//===----------------------------------------------------------------------===//

void *CachingPool::allocate(size_t bytes) {
  size_t size = roundedSize(bytes);
  auto it = freeBlocks.find(size);
  void *ptr = nullptr;
  if (it != freeBlocks.end()) {
    ptr = it->second;
    freeBlocks.erase(it);
    cached -= size;
  } else {
    ptr = allocFn(size);
    if (!ptr && !freeBlocks.empty()) {
      // Memory held for other sizes may be what is missing.
      trim();
      ptr = allocFn(size);
    }
    if (!ptr)
      return nullptr;
    ++allocations;
  }
  liveBlocks.emplace(ptr, size);
  inUse += size;
  return ptr;
}

bool CachingPool::deallocate(void *ptr) {
  auto it = liveBlocks.find(ptr);
  if (it == liveBlocks.end())
    return false;
  freeBlocks.emplace(it->second, ptr);
  inUse -= it->second;
  cached += it->second;
  liveBlocks.erase(it);
  return true;
}

void CachingPool::trim() {
  for (auto &[size, ptr] : freeBlocks)
    freeFn(ptr);
  freeBlocks.clear();
  cached = 0;
}

//===----------------------------------------------------------------------===//
// TMA descriptors
//===----------------------------------------------------------------------===//

size_t tensorMapElementBytes(int64_t dataType) {
  // CUtensorMapDataType: UINT8, UINT16, UINT32, INT32, UINT64, INT64,
  // FLOAT16, FLOAT32, FLOAT64, BFLOAT16, FLOAT32_FTZ, TFLOAT32, TFLOAT32_FTZ.
  static const size_t sizes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  if (dataType < 0 || dataType >= int64_t(sizeof(sizes) / sizeof(sizes[0])))
    return 0;
  return sizes[dataType];
}

bool makeTensorMapArgs(int64_t rank, const void *memrefDescriptor,
                       int64_t dataType, const int64_t *boxDims,
                       TensorMapArgs &args, std::string &error) {
  if (rank < 1 || rank > 5) {
    error = "TMA descriptor: rank " + std::to_string(rank) + " is outside 1..5";
    return false;
  }
  size_t elementBytes = tensorMapElementBytes(dataType);
  if (elementBytes == 0) {
    error = "TMA descriptor: unknown data type " + std::to_string(dataType);
    return false;
  }
  // {allocated, aligned, offset, sizes[rank], strides[rank]}.
  const auto *words = static_cast<const int64_t *>(memrefDescriptor);
  const char *aligned = reinterpret_cast<const char *>(words[1]);
  int64_t offset = words[2];
  const int64_t *sizes = words + 3;
  const int64_t *strides = words + 3 + rank;
  args = TensorMapArgs();
  args.rank = uint32_t(rank);
  args.address = aligned + offset * int64_t(elementBytes);
  if (reinterpret_cast<uintptr_t>(args.address) % 16 != 0) {
    error = "TMA descriptor: base address is not 16-byte aligned";
    return false;
  }
  if (strides[rank - 1] != 1) {
    error = "TMA descriptor: innermost stride is " +
            std::to_string(strides[rank - 1]) + ", must be 1";
    return false;
  }
  for (int64_t r = 0; r < rank; ++r) {
    int64_t mlirDim = rank - 1 - r;
    if (sizes[mlirDim] < 1) {
      error = "TMA descriptor: dimension " + std::to_string(mlirDim) +
              " has size " + std::to_string(sizes[mlirDim]);
      return false;
    }
    args.globalDim[r] = uint64_t(sizes[mlirDim]);
    if (boxDims[mlirDim] < 1 || boxDims[mlirDim] > 256) {
      error = "TMA descriptor: box size " + std::to_string(boxDims[mlirDim]) +
              " of dimension " + std::to_string(mlirDim) + " is outside 1..256";
      return false;
    }
    args.boxDim[r] = uint32_t(boxDims[mlirDim]);
    if (r > 0) {
      uint64_t bytes = uint64_t(strides[mlirDim]) * elementBytes;
      if (strides[mlirDim] < 1 || bytes % 16 != 0) {
        error = "TMA descriptor: stride of dimension " +
                std::to_string(mlirDim) + " is " + std::to_string(bytes) +
                " bytes, must be a positive multiple of 16";
        return false;
      }
      args.globalStrides[r - 1] = bytes;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Profiles
//===----------------------------------------------------------------------===//

std::vector<KernelSummary>
summarizeProfile(const std::vector<KernelRecord> &records) {
  std::vector<KernelSummary> out;
  std::unordered_map<std::string, size_t> index;
  for (const KernelRecord &r : records) {
    auto [it, inserted] = index.emplace(r.name, out.size());
    if (inserted)
      out.push_back({r.name, 0, 0});
    KernelSummary &s = out[it->second];
    ++s.launches;
    s.totalMs += r.durationMs;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const KernelSummary &a, const KernelSummary &b) {
                     return a.totalMs > b.totalMs;
                   });
  return out;
}

namespace {
/// Kernel names are MLIR symbols, but escape anyway: the trace must parse.
std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\u%04x", unsigned(c));
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}
} // namespace

std::string
chromeTraceJson(const std::vector<std::vector<KernelRecord>> &calls) {
  std::string out = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  bool first = true;
  char buffer[256];
  for (size_t call = 0; call < calls.size(); ++call) {
    std::snprintf(buffer, sizeof(buffer),
                  "%s  {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, "
                  "\"tid\": %zu, \"args\": {\"name\": \"call %zu\"}}",
                  first ? "" : ",\n", call, call);
    out += buffer;
    first = false;
    for (const KernelRecord &r : calls[call]) {
      out += ",\n  {\"name\": " + jsonString(r.name);
      std::snprintf(buffer, sizeof(buffer),
                    ", \"cat\": \"kernel\", \"ph\": \"X\", \"pid\": 1, "
                    "\"tid\": %zu, \"ts\": %.3f, \"dur\": %.3f, \"args\": "
                    "{\"grid\": [%u, %u, %u], \"block\": [%u, %u, %u], "
                    "\"shared_bytes\": %u}}",
                    call, r.startMs * 1e3, r.durationMs * 1e3, r.grid[0],
                    r.grid[1], r.grid[2], r.block[0], r.block[1], r.block[2],
                    r.sharedBytes);
      out += buffer;
    }
  }
  out += "\n]}\n";
  return out;
}

#ifndef FLY_HAVE_CUDA
//===----------------------------------------------------------------------===//
// Entry points of a runtime built without CUDA
//===----------------------------------------------------------------------===//

namespace {
const char *const kNoCuda =
    "this fly runtime was built without CUDA (no cuda.h at configure time); "
    "rebuild it where the CUDA toolkit is installed to run --target cuda "
    "artifacts";
}

bool initialize(std::string &error) {
  error = kNoCuda;
  return false;
}
std::string deviceDescription() { return ""; }
void *allocate(size_t, std::string &error) {
  error = kNoCuda;
  return nullptr;
}
void release(void *) {}
bool copyToDevice(void *, const void *, size_t, std::string &error) {
  error = kNoCuda;
  return false;
}
bool copyToHost(void *, const void *, size_t, std::string &error) {
  error = kNoCuda;
  return false;
}
bool fill(void *, uint8_t, size_t, std::string &error) {
  error = kNoCuda;
  return false;
}
bool synchronize(std::string &error) {
  error = kNoCuda;
  return false;
}
std::string takeError() { return ""; }
bool captureGraph(const std::function<void()> &, void *&graph,
                  std::string &error) {
  graph = nullptr;
  error = kNoCuda;
  return false;
}
bool launchGraph(void *, std::string &error) {
  error = kNoCuda;
  return false;
}
void destroyGraph(void *) {}
bool profiling() { return false; }
void beginProfile() {}
bool endProfile(std::vector<KernelRecord> &records, std::string &error) {
  records.clear();
  error = kNoCuda;
  return false;
}
#endif

} // namespace fly::runtime::cuda

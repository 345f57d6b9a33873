//===- CudaRuntimeTest.cpp - The CUDA runtime's GPU-free parts ------------===//
//
// The caching pool, TMA argument conversion, profile summaries and the
// Chrome trace run without a GPU. On a machine without a CUDA driver (CI)
// initialize() must fail with a message, and a CUDA artifact must not load.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/Artifact.h"
#include "fly/runtime/CudaDevice.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <set>

using namespace fly::runtime;
using namespace fly::runtime::cuda;

namespace {

struct FakeHeap {
  std::set<void *> live;
  size_t allocs = 0, frees = 0;
  bool failNext = false;
  char storage[1 << 16];
  size_t next = 0;
  void *alloc(size_t bytes) {
    if (failNext || next + bytes > sizeof(storage)) {
      failNext = false;
      return nullptr;
    }
    void *p = storage + next;
    next += bytes;
    ++allocs;
    live.insert(p);
    return p;
  }
  void free(void *p) {
    ++frees;
    EXPECT_EQ(live.erase(p), 1u) << "freed twice or never allocated";
  }
};

TEST(CachingPoolTest, ReusesFreedBlocksOfTheSameRoundedSize) {
  FakeHeap heap;
  {
    CachingPool pool([&](size_t n) { return heap.alloc(n); },
                     [&](void *p) { heap.free(p); });
    void *a = pool.allocate(1000); // rounds to 1024
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(pool.bytesInUse(), 1024u);
    EXPECT_TRUE(pool.deallocate(a));
    EXPECT_FALSE(pool.deallocate(a)) << "double free must be refused";
    EXPECT_EQ(pool.bytesCached(), 1024u);
    void *b = pool.allocate(1020);
    EXPECT_EQ(a, b) << "same rounded size must reuse the cached block";
    void *c = pool.allocate(2048);
    EXPECT_NE(c, b);
    EXPECT_EQ(pool.underlyingAllocations(), 2u);
    EXPECT_FALSE(pool.deallocate(heap.storage + 7));
    pool.deallocate(b);
    pool.deallocate(c);
  }
  EXPECT_EQ(heap.allocs, heap.frees) << "destruction returns every block";
  EXPECT_TRUE(heap.live.empty());
}

TEST(CachingPoolTest, TrimsCachedBlocksWhenTheAllocatorFails) {
  FakeHeap heap;
  CachingPool pool([&](size_t n) { return heap.alloc(n); },
                   [&](void *p) { heap.free(p); });
  void *a = pool.allocate(512);
  pool.deallocate(a);
  heap.failNext = true; // the first attempt for the new size fails
  void *b = pool.allocate(4096);
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(pool.bytesCached(), 0u) << "cached blocks released to retry";
  EXPECT_EQ(heap.frees, 1u);
  pool.deallocate(b);
}

/// An MLIR memref descriptor of rank 2: {alloc, aligned, offset, sizes,
/// strides}.
struct Descriptor2D {
  int64_t allocated, aligned, offset, sizes[2], strides[2];
};

TEST(TensorMapArgsTest, ReversesDimensionsAndConvertsStridesToBytes) {
  alignas(16) static char base[64];
  Descriptor2D d{0, int64_t(base), 8, {300, 768}, {768, 1}};
  int64_t box[2] = {128, 64}; // MLIR order: rows, columns
  TensorMapArgs args;
  std::string error;
  ASSERT_TRUE(makeTensorMapArgs(2, &d, /*FLOAT16=*/6, box, args, error))
      << error;
  EXPECT_EQ(args.rank, 2u);
  EXPECT_EQ(args.address, base + 16) << "offset counts elements (8 x 2 B)";
  EXPECT_EQ(args.globalDim[0], 768u);
  EXPECT_EQ(args.globalDim[1], 300u);
  EXPECT_EQ(args.globalStrides[0], 768u * 2);
  EXPECT_EQ(args.boxDim[0], 64u);
  EXPECT_EQ(args.boxDim[1], 128u);
  EXPECT_EQ(args.elementStrides[0], 1u);
}

TEST(TensorMapArgsTest, RejectsWhatTheDriverWouldRefuse) {
  alignas(16) static char base[64];
  TensorMapArgs args;
  std::string error;
  int64_t box[2] = {64, 64};
  Descriptor2D oddStride{0, int64_t(base), 0, {64, 100}, {100, 1}};
  EXPECT_FALSE(makeTensorMapArgs(2, &oddStride, 6, box, args, error));
  EXPECT_NE(error.find("multiple of 16"), std::string::npos) << error;
  Descriptor2D misaligned{0, int64_t(base + 2), 0, {64, 64}, {64, 1}};
  EXPECT_FALSE(makeTensorMapArgs(2, &misaligned, 6, box, args, error));
  EXPECT_NE(error.find("aligned"), std::string::npos) << error;
  Descriptor2D ok{0, int64_t(base), 0, {64, 64}, {64, 1}};
  int64_t bigBox[2] = {512, 64};
  EXPECT_FALSE(makeTensorMapArgs(2, &ok, 6, bigBox, args, error));
  EXPECT_NE(error.find("1..256"), std::string::npos) << error;
  EXPECT_FALSE(makeTensorMapArgs(2, &ok, 99, box, args, error));
  EXPECT_FALSE(makeTensorMapArgs(6, &ok, 6, box, args, error));
  Descriptor2D transposed{0, int64_t(base), 0, {64, 64}, {1, 64}};
  EXPECT_FALSE(makeTensorMapArgs(2, &transposed, 6, box, args, error));
  EXPECT_NE(error.find("innermost stride"), std::string::npos) << error;
}

TEST(ProfileTest, SummaryIsPerKernelAndSortedByTime) {
  std::vector<KernelRecord> records(4);
  records[0].name = "gemm", records[0].durationMs = 1.0;
  records[1].name = "layernorm", records[1].durationMs = 0.25;
  records[2].name = "gemm", records[2].durationMs = 2.0;
  records[3].name = "softmax", records[3].durationMs = 0.5;
  std::vector<KernelSummary> s = summarizeProfile(records);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].name, "gemm");
  EXPECT_EQ(s[0].launches, 2u);
  EXPECT_DOUBLE_EQ(s[0].totalMs, 3.0);
  EXPECT_EQ(s[1].name, "softmax");
  EXPECT_EQ(s[2].name, "layernorm");
}

TEST(ProfileTest, ChromeTraceIsValidJsonWithCompleteEvents) {
  KernelRecord a;
  a.name = "fly_gemm\"quoted\"";
  a.startMs = 0.5;
  a.durationMs = 0.25;
  a.grid[0] = 64;
  a.block[0] = 128;
  a.sharedBytes = 1024;
  std::string text = chromeTraceJson({{a}, {a, a}});
  nlohmann::json trace = nlohmann::json::parse(text);
  const auto &events = trace["traceEvents"];
  size_t complete = 0;
  for (const auto &e : events) {
    if (e["ph"] != "X")
      continue;
    ++complete;
    EXPECT_EQ(e["name"], a.name);
    EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 500.0) << "microseconds";
    EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 250.0);
    EXPECT_EQ(e["args"]["grid"][0], 64);
    EXPECT_EQ(e["args"]["shared_bytes"], 1024);
  }
  EXPECT_EQ(complete, 3u);
}

TEST(CudaRuntimeTest, InitializationEitherFindsADeviceOrSaysWhy) {
  // CI machines have no NVIDIA driver: there this checks the message; on a
  // GPU machine it checks that a device was described.
  std::string error;
  if (initialize(error)) {
    EXPECT_FALSE(deviceDescription().empty());
    return;
  }
  EXPECT_TRUE(deviceDescription().empty());
  if (builtWithCuda())
    EXPECT_NE(error.find("libcuda"), std::string::npos) << error;
  else
    EXPECT_NE(error.find("without CUDA"), std::string::npos) << error;
}

} // namespace

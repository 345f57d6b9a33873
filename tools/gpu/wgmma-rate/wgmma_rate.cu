// Throughput of one SM's wgmmas by shape and operand source (H100, sm_90a):
// how fast m64nNk16 f16 -> f32 runs with both operands in shared memory
// (SS) or A in registers (RS), with one or two warpgroups per SM issuing.
// The Monarch MLP's hidden kernel spends half its FLOPs in SS m64n64k16;
// docs/design-notes.md ("Next for the hidden kernel: S transposed") asks
// whether N = 128 runs faster per FLOP. Operands are zeros in 128-byte
// swizzled K-major tiles (64 columns of K: four k16 steps, +32 bytes each,
// as the generated kernels walk them); each warpgroup keeps one commit
// group in flight (wait_group 1), as the kernels' k loops do.
//
//   nvcc -O3 -arch=sm_90a -o wgmma_rate wgmma_rate.cu && ./wgmma_rate
//
// Prints one row per configuration: TFLOP/s over all SMs, and that rate
// relative to SS m64n256k16 with two warpgroups (the best case measured in
// the same run).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <cuda_runtime.h>

#include "wgmma_ops.inc"

#define CHECK(call)                                                            \
  do {                                                                         \
    cudaError_t e = (call);                                                    \
    if (e != cudaSuccess) {                                                    \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,                  \
                   cudaGetErrorString(e));                                     \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

constexpr int kSteps = 4; // k16 steps per 64-column tile

// Matrix descriptor of a K-major tile with 128-byte swizzle (rows of 128
// bytes, 8-row atoms of 1024 bytes): start address, leading byte offset
// (unused for this layout: 1), stride byte offset 1024, swizzle mode 1.
__device__ uint64_t descriptor(uint32_t smemAddr) {
  uint64_t d = 0;
  d |= uint64_t((smemAddr >> 4) & 0x3FFF);
  d |= uint64_t(1) << 16;
  d |= uint64_t(1024 >> 4) << 32;
  d |= uint64_t(1) << 62;
  return d;
}

template <int N, bool RS>
__global__ void __launch_bounds__(256, 1) rate(int iters, float *out) {
  extern __shared__ __align__(1024) unsigned char smem[];
  int wg = threadIdx.x / 128;
  // A: 64 x 64 per warpgroup (8 KB), B: N x 64 shared by the warpgroups.
  unsigned char *base = (unsigned char *)(((uintptr_t)smem + 1023) & ~uintptr_t(1023));
  unsigned char *aTile = base + wg * 8192;
  unsigned char *bTile = base + 2 * 8192;
  for (int i = threadIdx.x; i < (2 * 8192 + N * 128) / 4; i += blockDim.x)
    reinterpret_cast<uint32_t *>(base)[i] = 0;
  __syncthreads();
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  __syncthreads();
  uint64_t descA = descriptor((uint32_t)__cvta_generic_to_shared(aTile));
  uint64_t descB = descriptor((uint32_t)__cvta_generic_to_shared(bTile));
  float d[N / 2];
  for (int i = 0; i < N / 2; ++i)
    d[i] = 0.f;
  uint32_t a[4] = {0, 0, 0, 0};
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
  for (int it = 0; it < iters; ++it) {
    for (int ks = 0; ks < kSteps; ++ks) {
      // +32 bytes per k16 step inside the swizzled 128-byte row.
      uint64_t step = uint64_t(ks * 2);
      if constexpr (RS) {
        if constexpr (N == 64)
          mma_RS_n64(d, a, descB + step);
        else
          mma_RS_n128(d, a, descB + step);
      } else if constexpr (N == 64) {
        mma_SS_n64(d, descA + step, descB + step);
      } else if constexpr (N == 128) {
        mma_SS_n128(d, descA + step, descB + step);
      } else if constexpr (N == 192) {
        mma_SS_n192(d, descA + step, descB + step);
      } else {
        mma_SS_n256(d, descA + step, descB + step);
      }
    }
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
  }
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
  float sum = 0.f;
  for (int i = 0; i < N / 2; ++i)
    sum += d[i];
  if (sum != 0.f) // never (zeros), but the compiler cannot know
    out[blockIdx.x * blockDim.x + threadIdx.x] = sum;
}

template <int N, bool RS>
double measure(int warpgroups, int sms, float *out) {
  int smemBytes = 1024 + 2 * 8192 + N * 128;
  auto kernel = rate<N, RS>;
  CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             smemBytes));
  const int iters = 20000;
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  kernel<<<sms, 128 * warpgroups, smemBytes>>>(100, out); // warm-up
  CHECK(cudaGetLastError());
  CHECK(cudaEventRecord(start));
  kernel<<<sms, 128 * warpgroups, smemBytes>>>(iters, out);
  CHECK(cudaEventRecord(stop));
  CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, start, stop));
  double flops = 2.0 * 64 * N * 16 * kSteps * double(iters) * warpgroups * sms;
  return flops / (ms * 1e-3) / 1e12;
}

int main() {
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  int sms = prop.multiProcessorCount;
  float *out;
  CHECK(cudaMalloc(&out, sizeof(float) * sms * 256));
  std::printf("device: %s, %d SMs; one CTA per SM\n", prop.name, sms);
  struct Row {
    const char *name;
    int wg;
    double tflops;
  } rows[] = {
      {"SS m64n64k16", 1, measure<64, false>(1, sms, out)},
      {"SS m64n64k16", 2, measure<64, false>(2, sms, out)},
      {"SS m64n128k16", 1, measure<128, false>(1, sms, out)},
      {"SS m64n128k16", 2, measure<128, false>(2, sms, out)},
      {"SS m64n192k16", 2, measure<192, false>(2, sms, out)},
      {"SS m64n256k16", 1, measure<256, false>(1, sms, out)},
      {"SS m64n256k16", 2, measure<256, false>(2, sms, out)},
      {"RS m64n64k16", 2, measure<64, true>(2, sms, out)},
      {"RS m64n128k16", 2, measure<128, true>(2, sms, out)},
  };
  double best = 0;
  for (const Row &r : rows) // SS m64n256k16 with two warpgroups
    if (r.wg == 2 && std::string(r.name) == "SS m64n256k16")
      best = r.tflops;
  std::printf("| wgmma | warpgroups per SM | TFLOP/s | / SS n256 x2 |\n");
  std::printf("|---|---:|---:|---:|\n");
  for (const Row &r : rows)
    std::printf("| %s | %d | %.1f | %.3f |\n", r.name, r.wg, r.tflops,
                r.tflops / best);
  CHECK(cudaFree(out));
  return 0;
}

//===- check.cpp - correctness and speed of the wgmma GEMM kernels --------===//
//
// Runs on the GPU machine (see run-there.sh), linked with the objects
// build-here.sh made and with the fly runtime's mgpu* implementation.
//
// For every spec in gemm_specs.inc:
//   1. random f16/bf16 inputs in +-[0.1, 1] (never zero), C poisoned with NaN;
//   2. one call of the generated launcher (through its C-interface test
//      wrapper), then every element is compared with a float64 CPU reference
//      computed from the same rounded inputs: ||C - ref|| / ||ref|| <= 1e-2
//      and no NaN left (every row < m must have been written);
//   3. timing: the `_repeat` entry enqueues REPEATS launches back to back on
//      one stream and waits once; its wall time / REPEATS, median over
//      `--samples` (default 50) calls after warm-up, gives the kernel time.
//      The launcher alone (one launch + stream sync) is timed too.
//   4. with FLY_WITH_CUBLAS, cublasGemmEx on the same plain GEMM (no
//      epilogue) for reference, timed with CUDA events.
//
// Memref ABI: the test entry points are `_mlir_ciface_*` functions (MLIR's
// llvm.emit_c_interface): each memref argument is a pointer to a descriptor
// {allocated, aligned, offset, sizes[rank], strides[rank]}.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>
#ifdef FLY_WITH_CUBLAS
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

template <int Rank> struct MemRef {
  void *allocated = nullptr;
  void *aligned = nullptr;
  int64_t offset = 0;
  int64_t sizes[Rank] = {};
  int64_t strides[Rank] = {};
};
using MemRef1D = MemRef<1>;
using MemRef2D = MemRef<2>;
using GemmEntry = void (*)(MemRef2D *, MemRef2D *, MemRef1D *, MemRef2D *,
                           MemRef2D *);

} // namespace

#define FLY_GEMM_TEST(index, name, m, n, k, bf16, epilogue, residual, tileN,   \
                      repeats)                                                 \
  extern "C" void _mlir_ciface_fly_gemm_test_##index(                          \
      MemRef2D *, MemRef2D *, MemRef1D *, MemRef2D *, MemRef2D *);             \
  extern "C" void _mlir_ciface_fly_gemm_test_##index##_repeat(                 \
      MemRef2D *, MemRef2D *, MemRef1D *, MemRef2D *, MemRef2D *);
#include "gemm_specs.inc"
#undef FLY_GEMM_TEST

namespace {

enum Epilogue { kNone = 0, kBias = 1, kBiasGelu = 2 };

struct TestCase {
  const char *name;
  int64_t m, n, k;
  bool bf16;
  int epilogue;
  bool residual;
  int64_t tileN, repeats;
  GemmEntry once, repeat;
};

#define FLY_GEMM_TEST(index, name, m, n, k, bf16, epilogue, residual, tileN,   \
                      repeats)                                                 \
  {name,                                                                       \
   m,                                                                          \
   n,                                                                          \
   k,                                                                          \
   bf16,                                                                       \
   epilogue,                                                                   \
   residual,                                                                   \
   tileN,                                                                      \
   repeats,                                                                    \
   &_mlir_ciface_fly_gemm_test_##index,                                        \
   &_mlir_ciface_fly_gemm_test_##index##_repeat},
const TestCase kCases[] = {
#include "gemm_specs.inc"
};
#undef FLY_GEMM_TEST

//===----------------------------------------------------------------------===//
// Half-precision conversions (round to nearest even)
//===----------------------------------------------------------------------===//

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x = bitsOf(f);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absBits = x & 0x7fffffff;
  if (absBits >= 0x7f800000) // inf / nan
    return sign | 0x7c00 | (absBits > 0x7f800000 ? 0x200 : 0);
  if (absBits >= 0x477ff000) // rounds to >= 65520: overflow
    return sign | 0x7c00;
  if (absBits < 0x38800000) {                      // subnormal half (or zero)
    float scaled = floatOf(absBits) * 16777216.0f; // * 2^24
    return sign | uint16_t(std::nearbyint(scaled));
  }
  uint32_t mantissa = absBits & 0x7fffff;
  uint32_t exponent = (absBits >> 23) - 112;
  uint32_t half = (exponent << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    ++half;
  return sign | half;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0)
    return floatOf(sign) + (sign ? -1.0f : 1.0f) * float(mantissa) *
                               5.9604644775390625e-08f; // 2^-24
  if (exponent == 31)
    return floatOf(sign | 0x7f800000 | (mantissa << 13));
  return floatOf(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t floatToBf16(float f) {
  uint32_t x = bitsOf(f);
  if ((x & 0x7fffffff) > 0x7f800000)
    return uint16_t((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return uint16_t(x >> 16);
}

float bf16ToFloat(uint16_t b) { return floatOf(uint32_t(b) << 16); }

//===----------------------------------------------------------------------===//
// Host / device buffers
//===----------------------------------------------------------------------===//

void checkCu(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  const char *text = nullptr;
  cuGetErrorString(result, &text);
  std::fprintf(stderr, "check: %s failed: %s\n", what,
               text ? text : "unknown error");
  std::exit(1);
}

/// A 16-bit matrix on host (as raw bits and as the exact float values) and
/// on device.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<uint16_t> bits;
  std::vector<double> values;
  CUdeviceptr device = 0;

  Matrix(int64_t r, int64_t c) : rows(r), cols(c) {
    checkCu(cuMemAlloc(&device, size_t(r * c) * 2), "cuMemAlloc");
  }
  ~Matrix() { cuMemFree(device); }
  Matrix(const Matrix &) = delete;
  Matrix &operator=(const Matrix &) = delete;

  void randomize(std::mt19937 &rng, bool bf16) {
    std::uniform_real_distribution<float> magnitude(0.1f, 1.0f);
    std::bernoulli_distribution negative(0.5);
    bits.resize(size_t(rows * cols));
    values.resize(bits.size());
    for (size_t i = 0; i < bits.size(); ++i) {
      float v = magnitude(rng) * (negative(rng) ? -1.0f : 1.0f);
      bits[i] = bf16 ? floatToBf16(v) : floatToHalf(v);
      values[i] = bf16 ? bf16ToFloat(bits[i]) : halfToFloat(bits[i]);
    }
    checkCu(cuMemcpyHtoD(device, bits.data(), bits.size() * 2), "upload");
  }
  void poisonWithNaN() {
    checkCu(cuMemsetD16(device, 0xffff, size_t(rows * cols)), "poison");
  }
  void download(bool bf16) {
    bits.resize(size_t(rows * cols));
    values.resize(bits.size());
    checkCu(cuMemcpyDtoH(bits.data(), device, bits.size() * 2), "download");
    for (size_t i = 0; i < bits.size(); ++i)
      values[i] = bf16 ? bf16ToFloat(bits[i]) : halfToFloat(bits[i]);
  }
  MemRef2D memref2D() const {
    MemRef2D d;
    d.allocated = d.aligned = reinterpret_cast<void *>(device);
    d.sizes[0] = rows, d.sizes[1] = cols;
    d.strides[0] = cols, d.strides[1] = 1;
    return d;
  }
  MemRef1D memref1D() const {
    MemRef1D d;
    d.allocated = d.aligned = reinterpret_cast<void *>(device);
    d.sizes[0] = rows * cols;
    d.strides[0] = 1;
    return d;
  }
};

//===----------------------------------------------------------------------===//
// Reference
//===----------------------------------------------------------------------===//

double geluTanh(double x) {
  const double sqrt2OverPi = 0.7978845608028654;
  return 0.5 * x * (1.0 + std::tanh(sqrt2OverPi * (x + 0.044715 * x * x * x)));
}

/// ref[i][j] = epilogue(sum_k a[i][k] b[j][k] + bias[j]) + r[i][j], float64,
/// on all hardware threads.
std::vector<double> reference(const TestCase &t, const Matrix &a,
                              const Matrix &b, const Matrix *bias,
                              const Matrix *residual) {
  std::vector<double> ref(size_t(t.m * t.n));
  auto rows = [&](int64_t begin, int64_t end) {
    const int64_t colBlock = 32; // keeps a block of B rows in L2
    for (int64_t j0 = 0; j0 < t.n; j0 += colBlock) {
      int64_t j1 = std::min(t.n, j0 + colBlock);
      for (int64_t i = begin; i < end; ++i) {
        const double *ai = &a.values[size_t(i * t.k)];
        for (int64_t j = j0; j < j1; ++j) {
          const double *bj = &b.values[size_t(j * t.k)];
          double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          int64_t kk = 0;
          for (; kk + 4 <= t.k; kk += 4) {
            s0 += ai[kk] * bj[kk];
            s1 += ai[kk + 1] * bj[kk + 1];
            s2 += ai[kk + 2] * bj[kk + 2];
            s3 += ai[kk + 3] * bj[kk + 3];
          }
          for (; kk < t.k; ++kk)
            s0 += ai[kk] * bj[kk];
          double v = (s0 + s1) + (s2 + s3);
          if (bias)
            v += bias->values[size_t(j)];
          if (t.epilogue == kBiasGelu)
            v = geluTanh(v);
          if (residual)
            v += residual->values[size_t(i * t.n + j)];
          ref[size_t(i * t.n + j)] = v;
        }
      }
    }
  };
  int64_t threads = std::max<int64_t>(
      1, std::min<int64_t>(std::thread::hardware_concurrency(), t.m));
  std::vector<std::thread> pool;
  int64_t chunk = (t.m + threads - 1) / threads;
  for (int64_t p = 0; p < threads; ++p) {
    int64_t begin = p * chunk, end = std::min(t.m, begin + chunk);
    if (begin < end)
      pool.emplace_back(rows, begin, end);
  }
  for (std::thread &th : pool)
    th.join();
  return ref;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double nowSeconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

struct Result {
  bool ok = false;
  double relError = 0, maxAbsError = 0;
  int64_t nans = 0;
  double kernelUs = 0, launcherUs = 0, cublasUs = 0;
};

#ifdef FLY_WITH_CUBLAS
/// Plain C = A.B^T through cuBLAS (f32 accumulate), median of `samples`
/// event-timed calls. Row-major C[m,n] is column-major C^T[n,m] = B A^T.
double timeCublas(const TestCase &t, const Matrix &a, const Matrix &b,
                  Matrix &c, int samples) {
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS)
    return 0;
  cudaStream_t stream;
  cudaStreamCreate(&stream);
  cublasSetStream(handle, stream);
  cudaDataType type = t.bf16 ? CUDA_R_16BF : CUDA_R_16F;
  float alpha = 1.0f, beta = 0.0f;
  auto run = [&] {
    return cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(t.n), int(t.m),
                        int(t.k), &alpha, reinterpret_cast<void *>(b.device),
                        type, int(t.k), reinterpret_cast<void *>(a.device),
                        type, int(t.k), &beta,
                        reinterpret_cast<void *>(c.device), type, int(t.n),
                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  if (run() != CUBLAS_STATUS_SUCCESS) {
    cublasDestroy(handle);
    return 0;
  }
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (int w = 0; w < 5; ++w)
    run();
  std::vector<double> times;
  for (int s = 0; s < samples; ++s) {
    cudaEventRecord(start, stream);
    run();
    cudaEventRecord(stop, stream);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    times.push_back(ms * 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaStreamDestroy(stream);
  cublasDestroy(handle);
  return median(times);
}
#endif

Result runCase(const TestCase &t, int samples, uint32_t seed) {
  Result result;
  std::mt19937 rng(seed);
  Matrix a(t.m, t.k), b(t.n, t.k), bias(1, t.n), residual(t.m, t.n),
      c(t.m, t.n);
  a.randomize(rng, t.bf16);
  b.randomize(rng, t.bf16);
  bias.randomize(rng, t.bf16);
  residual.randomize(rng, t.bf16);
  c.poisonWithNaN();
  checkCu(cuCtxSynchronize(), "setup");

  MemRef2D ma = a.memref2D(), mb = b.memref2D(), mr = residual.memref2D(),
           mc = c.memref2D();
  MemRef1D mbias = bias.memref1D();
  t.once(&ma, &mb, &mbias, &mr, &mc);
  checkCu(cuCtxSynchronize(), "kernel (first launch)");

  c.download(t.bf16);
  std::vector<double> ref =
      reference(t, a, b, t.epilogue != kNone ? &bias : nullptr,
                t.residual ? &residual : nullptr);
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double out = c.values[i];
    if (std::isnan(out)) {
      ++result.nans;
      continue;
    }
    double d = out - ref[i];
    diff2 += d * d;
    ref2 += ref[i] * ref[i];
    result.maxAbsError = std::max(result.maxAbsError, std::fabs(d));
  }
  result.relError = std::sqrt(diff2 / std::max(ref2, 1e-300));
  result.ok = result.nans == 0 && result.relError <= 1e-2;

  // Timing. Warm-up, then the median of `samples` calls of each entry.
  for (int w = 0; w < 3; ++w)
    t.repeat(&ma, &mb, &mbias, &mr, &mc);
  checkCu(cuCtxSynchronize(), "kernel (warm-up)");
  std::vector<double> perLaunch, launcher;
  for (int s = 0; s < samples; ++s) {
    double start = nowSeconds();
    t.repeat(&ma, &mb, &mbias, &mr, &mc);
    perLaunch.push_back((nowSeconds() - start) * 1e6 / double(t.repeats));
  }
  for (int s = 0; s < samples; ++s) {
    double start = nowSeconds();
    t.once(&ma, &mb, &mbias, &mr, &mc);
    launcher.push_back((nowSeconds() - start) * 1e6);
  }
  checkCu(cuCtxSynchronize(), "kernel (timing)");
  result.kernelUs = median(perLaunch);
  result.launcherUs = median(launcher);
#ifdef FLY_WITH_CUBLAS
  result.cublasUs = timeCublas(t, a, b, c, samples);
#endif
  return result;
}

const char *epilogueName(const TestCase &t) {
  static const char *names[] = {"-", "bias", "bias+gelu"};
  return names[t.epilogue];
}

} // namespace

int main(int argc, char **argv) {
  int samples = 50;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--samples=", 0) == 0)
      samples = std::max(1, std::atoi(arg.c_str() + 10));
    else if (arg.rfind("--only=", 0) == 0)
      only = arg.substr(7);
    else {
      std::fprintf(stderr, "usage: %s [--samples=N] [--only=SUBSTRING]\n",
                   argv[0]);
      return 2;
    }
  }

  // The runtime's module loads (global constructors) already retained the
  // primary context of device 0; make it current here too for our own
  // allocations and copies.
  CUdevice device;
  CUcontext context;
  checkCu(cuInit(0), "cuInit");
  checkCu(cuDeviceGet(&device, 0), "cuDeviceGet");
  checkCu(cuDevicePrimaryCtxRetain(&context, device), "primary context");
  checkCu(cuCtxSetCurrent(context), "cuCtxSetCurrent");
  char deviceName[256] = {0};
  cuDeviceGetName(deviceName, sizeof(deviceName) - 1, device);
  std::printf("device: %s; %d timing samples\n\n", deviceName, samples);

  std::printf("%-50s %6s %6s %6s %5s %-9s %3s | %9s %7s %s | %9s %8s %9s "
              "%s\n",
              "kernel", "m", "n", "k", "type", "epilogue", "res", "rel.err",
              "max|d|", "ok", "kernel us", "TFLOP/s", "launch us",
              "cuBLAS us (TFLOP/s)");
  int failures = 0;
  uint32_t seed = 1234;
  for (const TestCase &t : kCases) {
    if (!only.empty() && std::string(t.name).find(only) == std::string::npos)
      continue;
    Result r = runCase(t, samples, seed++);
    double flops = 2.0 * double(t.m) * double(t.n) * double(t.k);
    char cublas[64] = "-";
    if (r.cublasUs > 0)
      std::snprintf(cublas, sizeof(cublas), "%9.1f (%5.1f)", r.cublasUs,
                    flops / (r.cublasUs * 1e-6) / 1e12);
    char status[32];
    if (r.ok)
      std::snprintf(status, sizeof(status), "ok");
    else if (r.nans)
      std::snprintf(status, sizeof(status), "FAIL(%lld NaN)",
                    (long long)r.nans);
    else
      std::snprintf(status, sizeof(status), "FAIL");
    std::printf("%-50s %6lld %6lld %6lld %5s %-9s %3s | %9.2e %7.4f %s | "
                "%9.1f %8.1f %9.1f %s\n",
                t.name, (long long)t.m, (long long)t.n, (long long)t.k,
                t.bf16 ? "bf16" : "f16", epilogueName(t),
                t.residual ? "yes" : "-", r.relError, r.maxAbsError, status,
                r.kernelUs, flops / (r.kernelUs * 1e-6) / 1e12, r.launcherUs,
                cublas);
    std::fflush(stdout);
    failures += !r.ok;
  }
  std::printf("\n%s: %d failing case(s)\n", failures ? "FAILED" : "PASSED",
              failures);
  // Leave the context alone: the runtime's module-unload destructors still
  // need it at exit.
  return failures ? 1 : 0;
}

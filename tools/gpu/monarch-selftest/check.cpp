//===- check.cpp - correctness and speed of the fused Monarch kernels -----===//
//
// Runs on the GPU machine (see run-there.sh), linked with the objects
// build-here.sh made and the fly runtime's mgpu* implementation.
//
// For every spec in monarch_specs.inc:
//   1. random x, w1, w2, bias in +-[0.1, 1] (weights scaled by 1/sqrt(fan
//      in); never zero), y poisoned with NaN;
//   2. one call of the generated launcher; every element is compared with a
//      float64 CPU reference of the formula
//        h[b, kk*q+qq] = sum_pp w1[kk,qq,pp] x[b, kk*p+pp]
//        y[b, ss*l+ll] = [gelu]( sum_rr w2[ll,ss,rr] h[b, rr*l+ll] + bias )
//      (no rounding of h): ||y - ref|| / ||ref|| <= 1e-2 and no NaN left;
//   3. timing: the `_repeat` entry enqueues REPEATS launches on one stream
//      and waits once; wall time / REPEATS, median of --samples calls.
//   4. --csv=FILE writes name,m,in,out,bf16,gelu,monarch_us for dense.py.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

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
#include <utility>
#include <vector>

namespace {

template <int Rank> struct MemRef {
  void *allocated = nullptr;
  void *aligned = nullptr;
  int64_t offset = 0;
  int64_t sizes[Rank] = {};
  int64_t strides[Rank] = {};
};
using Entry = void (*)(MemRef<2> *, MemRef<3> *, MemRef<3> *, MemRef<1> *,
                       MemRef<2> *);

} // namespace

#define FLY_MONARCH_TEST(index, name, m, k, q, p, l, s, r, bf16, bias, gelu,   \
                         repeats)                                              \
  extern "C" void _mlir_ciface_fly_monarch_test_##index(                       \
      MemRef<2> *, MemRef<3> *, MemRef<3> *, MemRef<1> *, MemRef<2> *);        \
  extern "C" void _mlir_ciface_fly_monarch_test_##index##_repeat(              \
      MemRef<2> *, MemRef<3> *, MemRef<3> *, MemRef<1> *, MemRef<2> *);
#include "monarch_specs.inc"
#undef FLY_MONARCH_TEST

namespace {

struct TestCase {
  const char *name;
  int64_t m, k, q, p, l, s, r;
  bool bf16, bias, gelu;
  int64_t repeats;
  Entry once, repeat;
};

#define FLY_MONARCH_TEST(index, name, m, k, q, p, l, s, r, bf16, bias, gelu,   \
                         repeats)                                              \
  {name,                                                                       \
   m,                                                                          \
   k,                                                                          \
   q,                                                                          \
   p,                                                                          \
   l,                                                                          \
   s,                                                                          \
   r,                                                                          \
   bf16,                                                                       \
   bias,                                                                       \
   gelu,                                                                       \
   repeats,                                                                    \
   &_mlir_ciface_fly_monarch_test_##index,                                     \
   &_mlir_ciface_fly_monarch_test_##index##_repeat},
const TestCase kCases[] = {
#include "monarch_specs.inc"
};
#undef FLY_MONARCH_TEST

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

void checkCu(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  const char *text = nullptr;
  cuGetErrorString(result, &text);
  std::fprintf(stderr, "check: %s failed: %s\n", what,
               text ? text : "unknown error");
  std::exit(1);
}

/// A 16-bit array on host (bits and exact values) and on device.
struct Buffer {
  std::vector<int64_t> shape;
  int64_t count = 1;
  std::vector<uint16_t> bits;
  std::vector<double> values;
  CUdeviceptr device = 0;

  explicit Buffer(std::vector<int64_t> dims) : shape(std::move(dims)) {
    for (int64_t d : shape)
      count *= d;
    checkCu(cuMemAlloc(&device, size_t(count) * 2), "cuMemAlloc");
  }
  ~Buffer() { cuMemFree(device); }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;

  void randomize(std::mt19937 &rng, bool bf16, double scale) {
    std::uniform_real_distribution<float> magnitude(0.1f, 1.0f);
    std::bernoulli_distribution negative(0.5);
    bits.resize(size_t(count));
    values.resize(bits.size());
    for (size_t i = 0; i < bits.size(); ++i) {
      float v = float(scale) * magnitude(rng) * (negative(rng) ? -1.0f : 1.0f);
      bits[i] = bf16 ? floatToBf16(v) : floatToHalf(v);
      values[i] = bf16 ? bf16ToFloat(bits[i]) : halfToFloat(bits[i]);
    }
    checkCu(cuMemcpyHtoD(device, bits.data(), bits.size() * 2), "upload");
  }
  void poisonWithNaN() {
    checkCu(cuMemsetD16(device, 0xffff, size_t(count)), "poison");
  }
  void download(bool bf16) {
    bits.resize(size_t(count));
    values.resize(bits.size());
    checkCu(cuMemcpyDtoH(bits.data(), device, bits.size() * 2), "download");
    for (size_t i = 0; i < bits.size(); ++i)
      values[i] = bf16 ? bf16ToFloat(bits[i]) : halfToFloat(bits[i]);
  }
  template <int Rank> MemRef<Rank> memref() const {
    MemRef<Rank> d;
    d.allocated = d.aligned = reinterpret_cast<void *>(device);
    int64_t stride = 1;
    for (int i = Rank - 1; i >= 0; --i) {
      d.sizes[i] = shape[size_t(i)];
      d.strides[i] = stride;
      stride *= shape[size_t(i)];
    }
    return d;
  }
};

double geluTanh(double x) {
  const double sqrt2OverPi = 0.7978845608028654;
  return 0.5 * x * (1.0 + std::tanh(sqrt2OverPi * (x + 0.044715 * x * x * x)));
}

/// float64 reference of the formula in the file comment, all threads.
std::vector<double> reference(const TestCase &t, const Buffer &x,
                              const Buffer &w1, const Buffer &w2,
                              const Buffer *bias) {
  int64_t n = t.k * t.p, hCols = t.k * t.q, outCols = t.l * t.s;
  std::vector<double> ref(size_t(t.m * outCols));
  auto rows = [&](int64_t begin, int64_t end) {
    std::vector<double> h(static_cast<size_t>(hCols)),
        g(static_cast<size_t>(hCols));
    for (int64_t b = begin; b < end; ++b) {
      const double *xb = &x.values[size_t(b * n)];
      for (int64_t kk = 0; kk < t.k; ++kk)
        for (int64_t qq = 0; qq < t.q; ++qq) {
          const double *wr = &w1.values[size_t((kk * t.q + qq) * t.p)];
          const double *xr = xb + kk * t.p;
          double acc = 0;
          for (int64_t pp = 0; pp < t.p; ++pp)
            acc += wr[pp] * xr[pp];
          h[size_t(kk * t.q + qq)] = acc;
        }
      // g[ll, rr] = h[rr*l + ll], contiguous in rr for the inner loop.
      for (int64_t ll = 0; ll < t.l; ++ll)
        for (int64_t rr = 0; rr < t.r; ++rr)
          g[size_t(ll * t.r + rr)] = h[size_t(rr * t.l + ll)];
      double *yb = &ref[size_t(b * outCols)];
      for (int64_t ll = 0; ll < t.l; ++ll)
        for (int64_t ss = 0; ss < t.s; ++ss) {
          const double *wr = &w2.values[size_t((ll * t.s + ss) * t.r)];
          const double *gr = &g[size_t(ll * t.r)];
          double acc = 0;
          for (int64_t rr = 0; rr < t.r; ++rr)
            acc += wr[rr] * gr[rr];
          int64_t col = ss * t.l + ll;
          if (bias)
            acc += bias->values[size_t(col)];
          if (t.gelu)
            acc = geluTanh(acc);
          yb[col] = acc;
        }
    }
  };
  int64_t threads = std::max<int64_t>(
      1, std::min<int64_t>(std::thread::hardware_concurrency(), t.m));
  std::vector<std::thread> pool;
  int64_t chunk = (t.m + threads - 1) / threads;
  for (int64_t i = 0; i < threads; ++i) {
    int64_t begin = i * chunk, end = std::min(t.m, begin + chunk);
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
  double kernelUs = 0, launcherUs = 0;
};

Result runCase(const TestCase &t, int samples, uint32_t seed) {
  Result result;
  std::mt19937 rng(seed);
  int64_t n = t.k * t.p, outCols = t.l * t.s;
  Buffer x({t.m, n}), w1({t.k, t.q, t.p}), w2({t.l, t.s, t.r}), bias({outCols}),
      y({t.m, outCols});
  x.randomize(rng, t.bf16, 1.0);
  w1.randomize(rng, t.bf16, 1.0 / std::sqrt(double(t.p)));
  w2.randomize(rng, t.bf16, 1.0 / std::sqrt(double(t.r)));
  bias.randomize(rng, t.bf16, 0.5);
  y.poisonWithNaN();
  // Split factors (kernel name "_split"): the factor-1 kernel reads w1 with
  // its q axis permuted (MonarchKernel.h, monarchKernelW1Source): kernel
  // row ll*(q/l) + i is row i*l + ll. Upload that order; the reference
  // keeps the natural one.
  if (std::strstr(t.name, "_split")) {
    std::vector<uint16_t> permuted(w1.bits.size());
    int64_t per = t.q / t.l;
    for (int64_t kk = 0; kk < t.k; ++kk)
      for (int64_t row = 0; row < t.q; ++row) {
        int64_t source = (row % per) * t.l + row / per;
        std::memcpy(&permuted[size_t((kk * t.q + row) * t.p)],
                    &w1.bits[size_t((kk * t.q + source) * t.p)],
                    size_t(t.p) * 2);
      }
    checkCu(cuMemcpyHtoD(w1.device, permuted.data(), permuted.size() * 2),
            "upload permuted w1");
  }
  checkCu(cuCtxSynchronize(), "setup");

  MemRef<2> mx = x.memref<2>(), my = y.memref<2>();
  MemRef<3> mw1 = w1.memref<3>(), mw2 = w2.memref<3>();
  MemRef<1> mb = bias.memref<1>();
  t.once(&mx, &mw1, &mw2, &mb, &my);
  checkCu(cuCtxSynchronize(), "kernel (first launch)");
  y.download(t.bf16);
  std::vector<double> ref = reference(t, x, w1, w2, t.bias ? &bias : nullptr);
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double out = y.values[i];
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

  for (int i = 0; i < 3; ++i)
    t.repeat(&mx, &mw1, &mw2, &mb, &my);
  checkCu(cuCtxSynchronize(), "kernel (warm-up)");
  std::vector<double> perLaunch, launcher;
  for (int i = 0; i < samples; ++i) {
    double start = nowSeconds();
    t.repeat(&mx, &mw1, &mw2, &mb, &my);
    perLaunch.push_back((nowSeconds() - start) * 1e6 / double(t.repeats));
  }
  for (int i = 0; i < samples; ++i) {
    double start = nowSeconds();
    t.once(&mx, &mw1, &mw2, &mb, &my);
    launcher.push_back((nowSeconds() - start) * 1e6);
  }
  checkCu(cuCtxSynchronize(), "kernel (timing)");
  result.kernelUs = median(perLaunch);
  result.launcherUs = median(launcher);
  return result;
}

} // namespace

int main(int argc, char **argv) {
  int samples = 30;
  std::string only, csvPath;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--samples=", 0) == 0)
      samples = std::max(1, std::atoi(arg.c_str() + 10));
    else if (arg.rfind("--only=", 0) == 0)
      only = arg.substr(7);
    else if (arg.rfind("--csv=", 0) == 0)
      csvPath = arg.substr(6);
    else {
      std::fprintf(stderr,
                   "usage: %s [--samples=N] [--only=SUBSTRING] [--csv=FILE]\n",
                   argv[0]);
      return 2;
    }
  }
  CUdevice device;
  CUcontext context;
  checkCu(cuInit(0), "cuInit");
  checkCu(cuDeviceGet(&device, 0), "cuDeviceGet");
  checkCu(cuDevicePrimaryCtxRetain(&context, device), "primary context");
  checkCu(cuCtxSetCurrent(context), "cuCtxSetCurrent");
  char deviceName[256] = {0};
  cuDeviceGetName(deviceName, sizeof(deviceName) - 1, device);
  std::printf("device: %s; %d timing samples\n\n", deviceName, samples);
  FILE *csv = csvPath.empty() ? nullptr : std::fopen(csvPath.c_str(), "w");
  if (csv)
    std::fprintf(csv, "name,m,in,out,bf16,gelu,monarch_us\n");

  std::printf("%-52s %6s %5s %5s %4s %-9s | %9s %7s %-6s | %9s %8s %9s\n",
              "kernel", "m", "in", "out", "type", "epilogue", "rel.err",
              "max|d|", "ok", "kernel us", "TFLOP/s", "launch us");
  int failures = 0;
  uint32_t seed = 4321;
  for (const TestCase &t : kCases) {
    if (!only.empty() && std::string(t.name).find(only) == std::string::npos)
      continue;
    Result r = runCase(t, samples, seed++);
    double flops =
        2.0 * double(t.m) * (double(t.k * t.q * t.p) + double(t.l * t.s * t.r));
    char status[32];
    if (r.ok)
      std::snprintf(status, sizeof(status), "ok");
    else if (r.nans)
      std::snprintf(status, sizeof(status), "FAIL(%lld NaN)",
                    (long long)r.nans);
    else
      std::snprintf(status, sizeof(status), "FAIL");
    const char *epi =
        t.gelu ? (t.bias ? "bias+gelu" : "gelu") : (t.bias ? "bias" : "-");
    std::printf("%-52s %6lld %5lld %5lld %4s %-9s | %9.2e %7.4f %-6s | "
                "%9.1f %8.1f %9.1f\n",
                t.name, (long long)t.m, (long long)(t.k * t.p),
                (long long)(t.l * t.s), t.bf16 ? "bf16" : "f16", epi,
                r.relError, r.maxAbsError, status, r.kernelUs,
                flops / (r.kernelUs * 1e-6) / 1e12, r.launcherUs);
    std::fflush(stdout);
    if (csv)
      std::fprintf(csv, "%s,%lld,%lld,%lld,%d,%d,%.3f\n", t.name,
                   (long long)t.m, (long long)(t.k * t.p),
                   (long long)(t.l * t.s), int(t.bf16), int(t.gelu),
                   r.kernelUs);
    failures += !r.ok;
  }
  if (csv)
    std::fclose(csv);
  std::printf("\n%s: %d failing case(s)\n", failures ? "FAILED" : "PASSED",
              failures);
  return failures ? 1 : 0;
}

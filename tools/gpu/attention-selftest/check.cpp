//===- check.cpp - correctness and speed of the fused attention kernels ---===//
//
// Runs on the GPU machine (see run-there.sh), linked with the objects
// build-here.sh made and with the fly runtime's mgpu* implementation.
//
// For every spec in attn_specs.inc:
//   1. random f16/bf16 Q, K, V in +-[0.1, 1] (never zero), O poisoned with
//      NaN; specs with heads > 0 use the packed GPT-2 layout (one
//      [B*T, 3*H*D] qkv buffer, O as [B*T, H*D]; see FlashAttention.h);
//   2. one call of the generated launcher (through its C-interface test
//      wrapper); no element of O may be NaN (every row < T must have been
//      written), and on up to 16 batch*heads spread over the batch,
//      ||O - ref|| / ||ref|| <= 1e-2 against a float64 CPU reference computed
//      from the same rounded inputs (windowed specs: keys in the band,
//      see FlashAttention.h);
//   3. timing: the `_repeat` entry enqueues REPEATS launches back to back on
//      one stream and waits once; its wall time / REPEATS, median over
//      `--samples` (default 30) calls after warm-up, is the kernel time.
//      FLOPs: 4 D per allowed (query, key) pair (4 BH T^2 D, halved when
//      causal; windowed: about 4 BH T w D).
//   4. one machine-readable line per case,
//        FLY_ATTN_RESULT name bh t d bf16 causal scale kernel_us heads window
//      which sdpa.py reads to time PyTorch's SDPA (and, for windowed specs,
//      FlexAttention's sliding window) on the same shapes.
//
// Memref ABI: `_mlir_ciface_*` entry points take pointers to rank-3
// descriptors {allocated, aligned, offset, sizes[3], strides[3]} (packed:
// two rank-2 descriptors, qkv and o).
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include <algorithm>
#include <atomic>
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

struct MemRef3D {
  void *allocated = nullptr;
  void *aligned = nullptr;
  int64_t offset = 0;
  int64_t sizes[3] = {};
  int64_t strides[3] = {};
};
struct MemRef2D {
  void *allocated = nullptr;
  void *aligned = nullptr;
  int64_t offset = 0;
  int64_t sizes[2] = {};
  int64_t strides[2] = {};
};
using AttnEntry = void (*)(MemRef3D *, MemRef3D *, MemRef3D *, MemRef3D *);
using PackedEntry = void (*)(MemRef2D *, MemRef2D *);

} // namespace

// Declared without parameters: the real signature (AttnEntry or
// PackedEntry) depends on `heads`; runCase casts to it.
#define FLY_ATTN_TEST(index, name, bh, t, d, bf16, causal, scale, blockM,      \
                      repeats, heads, window)                                  \
  extern "C" void _mlir_ciface_fly_attn_test_##index();                        \
  extern "C" void _mlir_ciface_fly_attn_test_##index##_repeat();
#include "attn_specs.inc"
#undef FLY_ATTN_TEST

namespace {

struct TestCase {
  const char *name;
  int64_t bh, t, d;
  bool bf16, causal;
  double scale;
  int64_t blockM, repeats;
  void (*once)(), (*repeat)();
  int64_t heads;  // 0: [BH, T, D] tensors; > 0: packed qkv
  int64_t window; // 0: none

  /// The keys [first, last] query i sees.
  void keys(int64_t i, int64_t &first, int64_t &last) const {
    first = 0, last = causal ? i : t - 1;
    if (window > 0) {
      first = causal ? i - window + 1 : i - window / 2;
      last = causal ? i : i - window / 2 + window - 1;
      first = std::max<int64_t>(first, 0);
      last = std::min<int64_t>(last, t - 1);
    }
  }
  /// Allowed (query, key) pairs, for the FLOP count.
  double pairs() const {
    double n = 0;
    for (int64_t i = 0, first, last; i < t; ++i) {
      keys(i, first, last);
      n += double(last - first + 1);
    }
    return n;
  }
};

#define FLY_ATTN_TEST(index, name, bh, t, d, bf16, causal, scale, blockM,      \
                      repeats, heads, window)                                  \
  {name,                                                                       \
   bh,                                                                         \
   t,                                                                          \
   d,                                                                          \
   bf16,                                                                       \
   causal,                                                                     \
   scale,                                                                      \
   blockM,                                                                     \
   repeats,                                                                    \
   &_mlir_ciface_fly_attn_test_##index,                                        \
   &_mlir_ciface_fly_attn_test_##index##_repeat,                               \
   heads,                                                                      \
   window},
const TestCase kCases[] = {
#include "attn_specs.inc"
};
#undef FLY_ATTN_TEST

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
  if (absBits >= 0x7f800000)
    return sign | 0x7c00 | (absBits > 0x7f800000 ? 0x200 : 0);
  if (absBits >= 0x477ff000)
    return sign | 0x7c00;
  if (absBits < 0x38800000) {
    float scaled = floatOf(absBits) * 16777216.0f;
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
    return floatOf(sign) +
           (sign ? -1.0f : 1.0f) * float(mantissa) * 5.9604644775390625e-08f;
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
// Buffers
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

/// A [bh, t, d] 16-bit tensor on host (raw bits and exact values) and device.
struct Tensor {
  int64_t bh = 0, t = 0, d = 0;
  std::vector<uint16_t> bits;
  std::vector<double> values;
  CUdeviceptr device = 0;

  /// A [b, tt, dd] tensor; a 2-D [rows, cols] buffer is [1, rows, cols].
  Tensor(int64_t b, int64_t tt, int64_t dd) : bh(b), t(tt), d(dd) {
    checkCu(cuMemAlloc(&device, size_t(size()) * 2), "cuMemAlloc");
  }
  ~Tensor() { cuMemFree(device); }
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;
  int64_t size() const { return bh * t * d; }

  void randomize(std::mt19937 &rng, bool bf16) {
    std::uniform_real_distribution<float> magnitude(0.1f, 1.0f);
    std::bernoulli_distribution negative(0.5);
    bits.resize(size_t(size()));
    values.resize(bits.size());
    for (size_t i = 0; i < bits.size(); ++i) {
      float v = magnitude(rng) * (negative(rng) ? -1.0f : 1.0f);
      bits[i] = bf16 ? floatToBf16(v) : floatToHalf(v);
      values[i] = bf16 ? bf16ToFloat(bits[i]) : halfToFloat(bits[i]);
    }
    checkCu(cuMemcpyHtoD(device, bits.data(), bits.size() * 2), "upload");
  }
  void poisonWithNaN() {
    checkCu(cuMemsetD16(device, 0xffff, size_t(size())), "poison");
  }
  void download(bool bf16) {
    bits.resize(size_t(size()));
    values.resize(bits.size());
    checkCu(cuMemcpyDtoH(bits.data(), device, bits.size() * 2), "download");
    for (size_t i = 0; i < bits.size(); ++i)
      values[i] = bf16 ? bf16ToFloat(bits[i]) : halfToFloat(bits[i]);
  }
  MemRef3D memref() const {
    MemRef3D m;
    m.allocated = m.aligned = reinterpret_cast<void *>(device);
    m.sizes[0] = bh, m.sizes[1] = t, m.sizes[2] = d;
    m.strides[0] = t * d, m.strides[1] = d, m.strides[2] = 1;
    return m;
  }
  MemRef2D memref2D() const {
    MemRef2D m;
    m.allocated = m.aligned = reinterpret_cast<void *>(device);
    m.sizes[0] = bh * t, m.sizes[1] = d;
    m.strides[0] = d, m.strides[1] = 1;
    return m;
  }
};

/// Logical [bh, t, d] values of tensor `which` (0 q, 1 k, 2 v) of a packed
/// [B*T, 3*H*D] qkv buffer, or of a packed [B*T, H*D] output (which = 0,
/// parts = 1).
std::vector<double> unpack(const std::vector<double> &buf, int64_t bh,
                           int64_t t, int64_t d, int64_t heads, int which,
                           int parts) {
  std::vector<double> out(size_t(bh * t * d));
  int64_t hd = heads * d, cols = parts * hd;
  for (int64_t x = 0; x < bh; ++x) {
    int64_t b = x / heads, h = x % heads;
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = 0; j < d; ++j)
        out[size_t((x * t + i) * d + j)] =
            buf[size_t((b * t + i) * cols + which * hd + h * d + j)];
  }
  return out;
}

/// The batch*heads the reference checks: all of them up to 16, else 16
/// spread over [0, bh) including the first and the last.
std::vector<int64_t> checkedHeads(int64_t bh) {
  std::vector<int64_t> heads;
  int64_t n = std::min<int64_t>(bh, 16);
  for (int64_t i = 0; i < n; ++i)
    heads.push_back(n == 1 ? 0 : i * (bh - 1) / (n - 1));
  heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
  return heads;
}

/// Rows of the float64 reference for the checked heads: ref[(h, i), :].
std::vector<double> reference(const TestCase &c, const std::vector<double> &qv,
                              const std::vector<double> &kv,
                              const std::vector<double> &vv,
                              const std::vector<int64_t> &heads) {
  int64_t rows = int64_t(heads.size()) * c.t;
  std::vector<double> ref(size_t(rows * c.d));
  std::atomic<int64_t> nextRow{0};
  auto work = [&] {
    std::vector<double> p(size_t(c.t));
    for (int64_t r; (r = nextRow.fetch_add(1)) < rows;) {
      int64_t h = heads[size_t(r / c.t)], i = r % c.t;
      int64_t first, last;
      c.keys(i, first, last);
      const double *qi = &qv[size_t((h * c.t + i) * c.d)];
      double mx = -INFINITY;
      for (int64_t j = first; j <= last; ++j) {
        const double *kj = &kv[size_t((h * c.t + j) * c.d)];
        double s = 0;
        for (int64_t x = 0; x < c.d; ++x)
          s += qi[x] * kj[x];
        p[size_t(j)] = s * c.scale;
        mx = std::max(mx, p[size_t(j)]);
      }
      double sum = 0;
      for (int64_t j = first; j <= last; ++j)
        sum += (p[size_t(j)] = std::exp(p[size_t(j)] - mx));
      double *out = &ref[size_t(r * c.d)];
      std::fill(out, out + c.d, 0.0);
      for (int64_t j = first; j <= last; ++j) {
        const double *vj = &vv[size_t((h * c.t + j) * c.d)];
        double w = p[size_t(j)] / sum;
        for (int64_t x = 0; x < c.d; ++x)
          out[x] += w * vj[x];
      }
    }
  };
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i)
    pool.emplace_back(work);
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

Result runCase(const TestCase &c, int samples, uint32_t seed) {
  Result result;
  std::mt19937 rng(seed);
  bool packed = c.heads > 0;
  int64_t rows = packed ? c.bh / c.heads * c.t : 0, hd = c.heads * c.d;
  // Unpacked: q, k, v, o are [bh, t, d]. Packed: q is the [rows, 3*H*D] qkv
  // buffer, o is [rows, H*D], k and v are unused.
  Tensor q(packed ? 1 : c.bh, packed ? rows : c.t, packed ? 3 * hd : c.d),
      k(packed ? 1 : c.bh, packed ? 1 : c.t, packed ? 8 : c.d),
      v(packed ? 1 : c.bh, packed ? 1 : c.t, packed ? 8 : c.d),
      o(packed ? 1 : c.bh, packed ? rows : c.t, packed ? hd : c.d);
  q.randomize(rng, c.bf16);
  if (!packed) {
    k.randomize(rng, c.bf16);
    v.randomize(rng, c.bf16);
  }
  o.poisonWithNaN();
  checkCu(cuCtxSynchronize(), "setup");

  MemRef3D mq = q.memref(), mk = k.memref(), mv = v.memref(), mo = o.memref();
  MemRef2D pqkv = q.memref2D(), po = o.memref2D();
  auto call = [&](void (*entry)()) {
    if (packed)
      reinterpret_cast<PackedEntry>(entry)(&pqkv, &po);
    else
      reinterpret_cast<AttnEntry>(entry)(&mq, &mk, &mv, &mo);
  };
  call(c.once);
  checkCu(cuCtxSynchronize(), "kernel (first launch)");
  o.download(c.bf16);
  for (double x : o.values)
    result.nans += std::isnan(x);

  std::vector<int64_t> heads = checkedHeads(c.bh);
  std::vector<double> ref =
      packed ? reference(c, unpack(q.values, c.bh, c.t, c.d, c.heads, 0, 3),
                         unpack(q.values, c.bh, c.t, c.d, c.heads, 1, 3),
                         unpack(q.values, c.bh, c.t, c.d, c.heads, 2, 3), heads)
             : reference(c, q.values, k.values, v.values, heads);
  std::vector<double> outValues =
      packed ? unpack(o.values, c.bh, c.t, c.d, c.heads, 0, 1) : o.values;
  double diff2 = 0, ref2 = 0;
  for (size_t hi = 0; hi < heads.size(); ++hi)
    for (int64_t i = 0; i < c.t * c.d; ++i) {
      double out = outValues[size_t(heads[hi] * c.t * c.d + i)];
      double r = ref[size_t(int64_t(hi) * c.t * c.d + i)];
      if (std::isnan(out))
        continue;
      double d = out - r;
      diff2 += d * d;
      ref2 += r * r;
      result.maxAbsError = std::max(result.maxAbsError, std::fabs(d));
    }
  result.relError = std::sqrt(diff2 / std::max(ref2, 1e-300));
  result.ok = result.nans == 0 && result.relError <= 1e-2;

  for (int w = 0; w < 3; ++w)
    call(c.repeat);
  checkCu(cuCtxSynchronize(), "kernel (warm-up)");
  std::vector<double> perLaunch, launcher;
  for (int s = 0; s < samples; ++s) {
    double start = nowSeconds();
    call(c.repeat);
    perLaunch.push_back((nowSeconds() - start) * 1e6 / double(c.repeats));
  }
  for (int s = 0; s < samples; ++s) {
    double start = nowSeconds();
    call(c.once);
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

  CUdevice device;
  CUcontext context;
  checkCu(cuInit(0), "cuInit");
  checkCu(cuDeviceGet(&device, 0), "cuDeviceGet");
  checkCu(cuDevicePrimaryCtxRetain(&context, device), "primary context");
  checkCu(cuCtxSetCurrent(context), "cuCtxSetCurrent");
  char deviceName[256] = {0};
  cuDeviceGetName(deviceName, sizeof(deviceName) - 1, device);
  std::printf("device: %s; %d timing samples\n\n", deviceName, samples);
  std::printf("%-46s %5s %5s %4s %5s %6s %4s | %9s %7s %s | %9s %8s %9s\n",
              "kernel", "bh", "t", "d", "type", "causal", "bm", "rel.err",
              "max|d|", "ok", "kernel us", "TFLOP/s", "launch us");
  int failures = 0;
  uint32_t seed = 4321;
  std::vector<std::string> machineLines;
  for (const TestCase &c : kCases) {
    if (!only.empty() && std::string(c.name).find(only) == std::string::npos)
      continue;
    Result r = runCase(c, samples, seed++);
    double flops = c.window > 0
                       ? 4.0 * double(c.bh) * c.pairs() * double(c.d)
                       : 4.0 * double(c.bh) * double(c.t) * double(c.t) *
                             double(c.d) * (c.causal ? 0.5 : 1.0);
    char status[32];
    if (r.ok)
      std::snprintf(status, sizeof(status), "ok");
    else if (r.nans)
      std::snprintf(status, sizeof(status), "FAIL(%lld NaN)",
                    (long long)r.nans);
    else
      std::snprintf(status, sizeof(status), "FAIL");
    std::printf("%-46s %5lld %5lld %4lld %5s %6s %4lld | %9.2e %7.4f %s | "
                "%9.1f %8.1f %9.1f\n",
                c.name, (long long)c.bh, (long long)c.t, (long long)c.d,
                c.bf16 ? "bf16" : "f16", c.causal ? "yes" : "no",
                (long long)c.blockM, r.relError, r.maxAbsError, status,
                r.kernelUs, flops / (r.kernelUs * 1e-6) / 1e12, r.launcherUs);
    std::fflush(stdout);
    char line[512];
    std::snprintf(line, sizeof(line),
                  "FLY_ATTN_RESULT %s %lld %lld %lld %d %d %.17g %.3f %lld "
                  "%lld",
                  c.name, (long long)c.bh, (long long)c.t, (long long)c.d,
                  int(c.bf16), int(c.causal), c.scale, r.kernelUs,
                  (long long)c.heads, (long long)c.window);
    machineLines.push_back(line);
    failures += !r.ok;
  }
  std::printf("\n");
  for (const std::string &line : machineLines)
    std::printf("%s\n", line.c_str());
  std::printf("\n%s: %d failing case(s)\n", failures ? "FAILED" : "PASSED",
              failures);
  return failures ? 1 : 0;
}

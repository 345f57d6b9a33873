//===- WgmmaGemm.h - Hopper wgmma + TMA GEMM kernel generator ---*- C++ -*-===//
//
// Emits, as MLIR text, one sm_90a GEMM kernel (TMA loads into a shared-memory
// ring completed on mbarriers, nvgpu.warpgroup.mma with f32 accumulators, a
// fused bias / GELU / residual epilogue) plus a host function that builds the
// TMA descriptors and launches it.
//
// This is plain C++17 string building on purpose: the text is parsed by
// whatever MLIR context the caller uses, so this file needs no MLIR headers
// and can be unit-tested without LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_CONVERSION_FLYTOGPU_WGMMAGEMM_H
#define FLY_CONVERSION_FLYTOGPU_WGMMAGEMM_H

#include <cstdint>
#include <string>

namespace fly::gpu {

enum class GemmEpilogue { None, Bias, BiasGeluTanh };

/// C[m,n] = epilogue(A[m,k] . B[n,k]^T) (+ R[m,n]), all row-major.
/// B is an nn.Linear weight [out = n, in = k], so both operands are K-major.
struct GemmSpec {
  int64_t m = 0, n = 0, k = 0;
  /// "f16" or "bf16": A, B, C, bias and residual. Accumulation is f32.
  std::string elementType = "f16";
  GemmEpilogue epilogue = GemmEpilogue::None;
  /// C = epilogue(...) + R[m,n], R a separate buffer.
  bool residual = false;
  /// CTA tile width along n: 128 (default) or 64 (for small n).
  int64_t tileN = 128;
  /// A LayerNorm folded into this GEMM (fly-gpu-fold-layernorm): A is the
  /// LayerNorm's input x, B = W diag(gamma), and the kernel computes
  ///   C = epilogue(rstd_i A.B^T + shift_i colsum + bias) (+ R)
  /// with stats[i] = (rstd_i, shift_i = -mean_i rstd_i) of row i of A (f32,
  /// written by the row-statistics kernel, LayerNormSpec::statsOnly) and
  /// colsum[n] = sum_k B[n,k]: two extra f32 arguments. Needs a bias (beta
  /// folded in: bias' = bias + W beta).
  bool layerNormInput = false;
  double layerNormEps = 1e-5;
  /// Folded LayerNorm: %stats is [m, layerNormPartials, 2] f32, each row's
  /// (mean, biased variance) over that many equal column slices (the
  /// row-statistics kernel writes 1; a producer kernel one per slice it
  /// owns); the kernel merges them into (rstd, shift) when it starts.
  int64_t layerNormPartials = 1;
  /// The kernel also writes the LayerNorm statistics of C's rows for the
  /// consumer of C (fly-gpu-producer-row-statistics): an f32 output
  /// %stats_out[m, n / tileN, 2] after %c, (mean, biased variance) of the
  /// rounded values each CTA stores (gemmRowStatisticsPartials).
  bool rowStatistics = false;
  /// Depth of the TMA shared-memory ring, 2..6; 0 picks the default: 2 for
  /// tileN 128 (three CTAs per SM, fastest on H100 for GPT-2 shapes), 4 for
  /// tileN 64.
  int64_t stages = 0;
  /// Warp-specialised persistent schedule instead of one warpgroup per
  /// tile: a producer warp streams the TMA ring (per-slot full and empty
  /// mbarriers, never a CTA barrier), two consumer warpgroups own
  /// alternate 128 x tileN tiles of a persistent grid, so that one runs its
  /// epilogue while the other issues wgmmas. Default ring depth 4.
  bool warpSpecialized = false;
  /// Warp-specialised: CTAs of the persistent grid (at most the tile
  /// count); 0 = 132, the SM count of an H100 SXM (any count is correct,
  /// only the balance changes).
  int64_t persistentCtas = 0;
  /// Warp-specialised: the producer is a whole warpgroup (384 threads)
  /// instead of one warp (288), so that setmaxnreg can move its registers
  /// to the consumers (40 producer / 232 consumer registers per thread
  /// instead of ptxas' 168 for every thread of a 288- or 384-thread block).
  bool producerWarpgroup = false;
  /// Warp-specialised: the epilogue of the multistage kernel (accumulators
  /// through an f32 staging tile, residual rows loaded from global memory,
  /// stores from the threads) instead of the default register epilogue
  /// (values computed in the accumulator fragments, the residual tile
  /// TMA-loaded into the tile's output buffer while the mainloop runs, the
  /// output TMA-stored from it). fly-gpu-weight-gemms sets it where
  /// gemmRegisterEpiloguePays says no (bias-only epilogues); the self-test
  /// uses it for same-run comparisons.
  bool stagingEpilogue = false;
};

struct GemmEmitOptions {
  /// > 0: the module also holds func.func private @<gemmBenchmarkName(spec)>
  /// (same arguments as the launcher) that builds the TMA descriptors once and
  /// enqueues this many launches back to back on one stream, then waits.
  /// For benchmarks only: it keeps descriptor creation (upstream's runtime
  /// allocates and uploads each descriptor; fly's caches them) and per-launch
  /// stream synchronisation out of the timing.
  int64_t benchmarkRepeats = 0;
};

/// Returns "" and sets `error` if the spec is unsupported (the message says
/// why). Otherwise returns the text of one `module attributes
/// {gpu.container_module}` holding
///   gpu.module @<gemmKernelModuleName(spec)> {
///     gpu.func @<gemmKernelName(spec)>(%tma_a: !llvm.ptr, %tma_b: !llvm.ptr,
///         [%tma_c: !llvm.ptr, [%tma_r: !llvm.ptr,]] [%bias,] [%residual,]
///         %out) kernel }
/// (%tma_c / %tma_r: the warp-specialised register epilogue's descriptors
/// of C and R)
///   func.func private @<gemmLauncherName(spec)>(
///       %a: memref<MxKxT>, %b: memref<NxKxT>, [%bias: memref<NxT>,]
///       [%colsum: memref<Nxf32>, %stats: memref<MxPx2xf32>,]
///       [%residual: memref<MxNxT>,]
///       %c: memref<MxNxT> [, %stats_out: memref<Mx(N/tileN)x2xf32>])
/// The launcher creates the TMA descriptors (nvgpu.tma.create.descriptor,
/// i.e. mgpuTensorMapEncodeTiledMemref per call) and runs one synchronous
/// gpu.launch_func: grid (ceil(m/128), n/tileN), 128 threads (warp-
/// specialised: min(tiles, persistentCtas) CTAs of 288 threads), dynamic
/// shared memory above 48 KB (the runtime must opt in, as mgpuLaunchKernel
/// does).
///
/// The gpu.module carries no target attribute: the caller's pipeline attaches
/// one (nvvm-attach-target{chip=sm_90a}; wgmma needs the "a" target). The
/// pipeline must run convert-nvgpu-to-nvvm on the host function and in the
/// gpu.module, then reconcile-unrealized-casts (the TMA descriptors cross
/// the launch as !llvm.ptr); tools/gpu/gemm-selftest/build-here.sh has one
/// that works.
std::string emitWgmmaGemm(const GemmSpec &spec, std::string &error,
                          const GemmEmitOptions &options = {});

/// Whether GemmSpec::warpSpecialized is expected to be faster for `spec`
/// (everything but the schedule set): measured on an H100 (WgmmaGemm.cpp,
/// "Schedules"), it wins when the persistent grid gives each CTA at most
/// 1.5 tiles or at least 4, and loses in between.
bool gemmWarpSpecializationPays(const GemmSpec &spec);

/// Whether the register epilogue (GemmSpec::stagingEpilogue false) is
/// expected to be faster for a warp-specialised `spec`: measured on an H100
/// (docs/benchmarks.md, 2026-12-07), it is where the epilogue adds a
/// residual or applies GELU (the attention and MLP projections, the MLP up
/// projection: 6-8% faster per kernel), and 3% slower for a bias-only
/// epilogue (the QKV projection), whose staging epilogue already hides
/// behind the other warpgroup's mainloop.
bool gemmRegisterEpiloguePays(const GemmSpec &spec);

/// Checks `spec` only; returns "" when emitWgmmaGemm would accept it.
std::string verifyGemmSpec(const GemmSpec &spec);

/// The CTA tile width fly uses for an n-column GEMM: 128, or 64 where 128
/// does not divide n but 64 does.
int64_t defaultGemmTileN(int64_t n);

/// Row-statistics partials per row a GEMM with rowStatistics writes (one
/// per CTA column tile).
int64_t gemmRowStatisticsPartials(const GemmSpec &spec);

/// Names, unique per spec, e.g. fly_gemm_m8192_n3072_k768_f16_bias_gelu.
std::string gemmKernelName(const GemmSpec &spec);
std::string gemmKernelModuleName(const GemmSpec &spec);
std::string gemmLauncherName(const GemmSpec &spec);
std::string gemmBenchmarkName(const GemmSpec &spec);

} // namespace fly::gpu

#endif // FLY_CONVERSION_FLYTOGPU_WGMMAGEMM_H

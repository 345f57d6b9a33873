//===- MonarchKernel.h - fused Monarch matmul kernel generator --*- C++ -*-===//
//
// Emits, as MLIR text, one sm_90a kernel computing fly.monarch_matmul with
// both block-diagonal factors, the permutation between them and a bias /
// GELU epilogue fused, plus a host launcher (same conventions as
// WgmmaGemm.h). Plain C++17, no MLIR headers.
//
// Semantics (x[M,n], w1[k,q,p] with k*p = n, w2[l,s,r] with l*r = k*q):
//   h[b, kk*q+qq]   = sum_pp w1[kk,qq,pp] * x[b, kk*p+pp]
//   g[b, ll, rr]    = h[b, rr*l+ll]
//   y[b, ss*l+ll]   = sum_rr w2[ll,ss,rr] * g[b,ll,rr]        (l*s columns)
//   y               = [gelu_tanh](y + bias[ss*l+ll])           (optional)
// f16 or bf16 storage, f32 accumulation; the intermediate h/g is rounded to
// the storage type once (as the research code's fp16 run does) and never
// leaves shared memory.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_CONVERSION_FLYTOGPU_MONARCHKERNEL_H
#define FLY_CONVERSION_FLYTOGPU_MONARCHKERNEL_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace fly::gpu {

struct MonarchSpec {
  int64_t m = 0;                   // rows of x (any m >= 1)
  int64_t k = 0, q = 0, p = 0;     // w1[k, q, p]
  int64_t l = 0, s = 0, r = 0;     // w2[l, s, r]
  std::string elementType = "f16"; // "f16" or "bf16"
  bool bias = false;               // y += bias[l*s]
  bool gelu = false;               // y = gelu_tanh(y) (after the bias)
  bool residual = false;           // y += res[M, l*s] (last; natural output)
  /// Layouts for a Monarch -> Monarch chain (an MLP: up projection, GELU,
  /// down projection), where the tensor between the two kernels is fly's
  /// own and may be stored in any order.
  ///
  /// blockedOutput: y is written blocked, y'[b, ll*s + ss] = y[b, ss*l + ll]
  /// (each ll's columns contiguous). Then one CTA owns 64 rows and one ll:
  /// g[:, ll, :] is only 64 x r (factor 1 becomes k GEMMs of N = q/l), the
  /// output needs no interleaving, and up to four warpgroups (256 rows)
  /// share each weight tile. The kernel reads w1 with its q axis permuted
  /// (see monarchKernelW1Source) and the bias blocked like y
  /// (bias'[ll*s + ss] = bias[ss*l + ll]).
  bool blockedOutput = false;
  /// > 0: x arrives blocked by a producer with l = inputBlocks, i.e.
  /// x[b, ll*(n/L) + ss] holds logical column ss*L + ll (L = inputBlocks,
  /// n = k*p); the kernel reads w1 with its p axis permuted to match.
  int64_t inputBlocks = 0;
  /// A LayerNorm folded into the kernel (blocked output with a bias only:
  /// the MLP up projection): x is the LayerNorm's input, w1 holds
  /// w1 diag(gamma) (per block: w1[kk, qq, pp] gamma[kk*p + pp]), and
  ///   y = gelu?(rstd_i monarch(x) + shift_i colsum + bias)
  /// with stats[i] = (rstd_i, shift_i = -mean_i rstd_i) of row i of x (f32,
  /// from the row-statistics kernel), colsum = monarch(ones) stored like
  /// the bias, and the bias holding bias + monarch(beta): two extra f32
  /// arguments (%colsum, %stats) after the bias.
  bool layerNormInput = false;
  double layerNormEps = 1e-5;
  /// Folded LayerNorm: %stats is [m, layerNormPartials, 2] f32 (mean,
  /// biased variance) over equal column slices of each row, merged when the
  /// kernel starts (see GemmSpec::layerNormPartials).
  int64_t layerNormPartials = 1;
  /// The kernel also writes the LayerNorm statistics of y's rows for the
  /// consumer of y (fly-gpu-producer-row-statistics): an f32 output
  /// %stats_out[m, monarchRowStatisticsPartials(spec), 2] after %y, (mean,
  /// biased variance) of the rounded values each warpgroup stores. Natural
  /// output stored from registers only (the down projection of an MLP).
  bool rowStatistics = false;
  /// Natural output in two kernels instead of one (an MLP's down
  /// projection): factor 1 writes h, permuted to g order and blocked by ll
  /// (h'[b, ll*r + rr] = g[b, ll, rr]), to a temporary the launcher
  /// allocates; factor 2 loads its 64-row G tile from there with TMA and
  /// keeps the natural output's epilogue (bias, residual, row statistics).
  /// Without G in shared memory, factor 1 runs 128-row CTAs (one per row
  /// tile and block kk, two warpgroups sharing every w1 tile) with a deeper
  /// ring. Its kernel columns are w1 rows permuted like a blocked output's
  /// (monarchKernelW1Source), so that each thread's column pairs land next
  /// to each other in h'.
  bool splitFactors = false;
};

/// The kernel's w1 is a permutation of fly.monarch_matmul's w1[k,q,p] when
/// blockedOutput, splitFactors (its q axis) or inputBlocks (its p axis) is
/// set: element (kk, qq, pp) of the array the launcher takes is element
/// (kk, result.first, result.second) of the op's w1. (Identity otherwise.)
/// The caller permutes the weight constant once at compile time.
std::pair<int64_t, int64_t> monarchKernelW1Source(const MonarchSpec &spec,
                                                  int64_t qq, int64_t pp);

struct MonarchEmitOptions {
  /// > 0: the module also holds func.func private @<monarchBenchmarkName>
  /// (same arguments as the launcher) that builds the TMA descriptors once
  /// and enqueues this many launches on one stream, then waits (benchmarks).
  int64_t benchmarkRepeats = 0;
  /// 0: the default. 1: a k-tile's last wgmma retires the previous tile,
  /// whose ring slot is then refilled. 2: two k-tiles of wgmmas may run
  /// while the next is issued (the slot of tile t-2 is refilled; prefetch
  /// one tile shallower; rings of fewer than 3 slots use 1).
  int64_t wgmmaTilesInFlight = 0;
  /// Split factors, factor 1's kernel: warpgroups (64 rows each) per CTA
  /// and ring slots; 0: the defaults (2 where m allows; as many slots as
  /// fit, at most 6).
  int64_t factor1Warpgroups = 0;
  int64_t factor1Stages = 0;
};

/// Returns "" and sets `error` if the spec is unsupported. Otherwise the text
/// of one `module attributes {gpu.container_module}` holding
///   gpu.module @<monarchKernelName(spec)>_kernels { gpu.func ... kernel }
///   func.func private @<monarchLauncherName(spec)>(
///       %x: memref<Mxn>, %w1: memref<kxqxp>, %w2: memref<lxsxr>,
///       [%bias: memref<(l*s)>,]
///       [%colsum: memref<(l*s)xf32>, %stats: memref<MxPx2xf32>,]
///       [%res: memref<Mx(l*s)>,] %y: memref<Mx(l*s)>
///       [, %stats_out: memref<MxP'x2xf32>])
/// The launcher builds three TMA descriptors and runs one synchronous
/// gpu.launch_func (grid ceil(M/64), 128 threads, > 48 KB dynamic shared
/// memory: the runtime must opt in, as mgpuLaunchKernel does). Lower it with
/// the pipeline of tools/gpu/gemm-selftest/build-here.sh (nvvm-attach-target
/// chip=sm_90a).
std::string emitMonarchMatmul(const MonarchSpec &spec, std::string &error,
                              const MonarchEmitOptions &options = {});

/// Checks `spec` only; returns "" when emitMonarchMatmul would accept it.
std::string verifyMonarchSpec(const MonarchSpec &spec);

/// Whether split factors make `spec` (natural output) faster: when the
/// fused kernel's one CTA per 64 rows leaves most of the GPU idle, factor
/// 1's CTAs per (128 rows, kk) spread the work k times wider. H100 self-test
/// (GPT-2 MLP down projection, us): m 1024 32.0 -> 25.0, 2048 32.3 -> 25.9,
/// 4096 32.4 -> 32.0, 6144 39.7 -> 47.5, 8192 44.9 -> 54.6, 32768 156.6 ->
/// 175.1; so up to 32 row tiles of 64 (m <= 2048).
bool monarchSplitFactorsPay(const MonarchSpec &spec);

/// Row-statistics partials per row the kernel for `spec` writes with
/// rowStatistics set (one per warpgroup splitting the output columns), or
/// 0 where it cannot write them (not a natural output stored from
/// registers).
int64_t monarchRowStatisticsPartials(const MonarchSpec &spec);

/// Names, unique per spec, e.g.
/// fly_monarch_m8192_k4q192p192_l4s768r192_f16_bias_gelu.
std::string monarchKernelName(const MonarchSpec &spec);
std::string monarchKernelModuleName(const MonarchSpec &spec);
std::string monarchLauncherName(const MonarchSpec &spec);
std::string monarchBenchmarkName(const MonarchSpec &spec);

/// A Monarch MLP in three kernels whose hidden layer never reaches global
/// memory: (1) the up projection's factor 1, g' = x . w1_up^T blocked by ll
/// (split factor 1 of its shape); (2) the hidden kernel, per (128 rows,
/// down block kk): for every up block ll and 64 hidden columns, S = g'[ll]
/// . w2_up^T, H = gelu(S [* rstd + shift * colsum] + bias) in shared
/// memory, acc += H . w1_down^T, then h' (the down projection's factor 1,
/// as split factor 1 stores it); (3) the down projection's factor 2 from h'
/// with its epilogue (split factor 2). g' and h' are as wide as x and y;
/// the hidden layer (4x wider in GPT-2) is never stored.
///   up:   the up projection as the Monarch chain declares it
///         (blockedOutput, bias, gelu; layerNormInput optional), its w1 and
///         bias/colsum permuted as for that kernel;
///   down: the down projection with inputBlocks = up.l and splitFactors
///         (its w1 permuted as monarchKernelW1Source says for that spec);
///         bias, residual, rowStatistics optional.
///   hiddenSchedule: how the hidden kernel's warps work --
///     Lockstep: two warpgroups that also refill the weight ring, a CTA
///       barrier per step;
///     Producer (the default; H100: hidden kernel 2.5-3% faster than
///       Lockstep): a third warpgroup streams the tiles, per-slot empty
///       barriers instead of the CTA barrier (warp-specialised);
///     PingPong: Producer, and the two computing warpgroups take turns
///       issuing their wgmmas (FlashAttention-3's inter-warpgroup overlap;
///       a CTA of one computing warpgroup runs as Producer; measured
///       between the two).
enum class MonarchHiddenSchedule { Lockstep, Producer, PingPong };

struct MonarchMlpSpec {
  MonarchSpec up, down;
  MonarchHiddenSchedule hiddenSchedule = MonarchHiddenSchedule::Producer;
};

/// Producer/PingPong: the producer iteration (0 .. chunks*l - 1) that loads
/// G[ll], ll >= 2, for `chunks` 64-column chunks per up block and a ring of
/// `stages` slots: G[ll]'s buffer comes free with S of step chunks*(ll-1)-1
/// (the last of ll - 2), which also frees w2's slot for that step +
/// stages; at the latest one step before ll's first, chunks*ll.
int64_t monarchHiddenGLoadStep(int64_t chunks, int64_t stages, int64_t ll);

/// The option spelling of a hidden-kernel schedule (lockstep, producer,
/// pingpong) and back; std::nullopt for an unknown spelling. The choices
/// for an error message: "lockstep, producer or pingpong".
std::string monarchHiddenScheduleName(MonarchHiddenSchedule schedule);
std::string monarchHiddenScheduleChoices();
std::optional<MonarchHiddenSchedule>
parseMonarchHiddenSchedule(const std::string &name);

/// "" when emitMonarchMlp accepts `spec`, else why not.
std::string verifyMonarchMlpSpec(const MonarchMlpSpec &spec);

/// Returns "" and sets `error` if the spec is unsupported. Otherwise one
/// module with the three kernels and
///   func.func private @<monarchMlpLauncherName(spec)>(
///       %x: memref<Mxn>, %w1: memref<kxqxp>, %w2: memref<lxsxr>,   (up)
///       %bias_up: memref<(l*s)>,
///       [%colsum: memref<(l*s)xf32>, %stats: memref<MxPx2xf32>,]
///       %w1_down: memref<k'xq'xp'>, %w2_down: memref<l'xs'xr'>,
///       [%bias: memref<(l'*s')>,] [%res: memref<Mx(l'*s')>,]
///       %y: memref<Mx(l'*s')> [, %stats_out: memref<MxP'x2xf32>])
/// which allocates g' and h' from the runtime's pool and launches the
/// three kernels on one stream.
std::string emitMonarchMlp(const MonarchMlpSpec &spec, std::string &error,
                           const MonarchEmitOptions &options = {});

/// Row-statistics partials per row the MLP writes with down.rowStatistics
/// (0 where it cannot).
int64_t monarchMlpRowStatisticsPartials(const MonarchMlpSpec &spec);

std::string monarchMlpKernelName(const MonarchMlpSpec &spec);
std::string monarchMlpKernelModuleName(const MonarchMlpSpec &spec);
std::string monarchMlpLauncherName(const MonarchMlpSpec &spec);
std::string monarchMlpBenchmarkName(const MonarchMlpSpec &spec);

} // namespace fly::gpu

#endif // FLY_CONVERSION_FLYTOGPU_MONARCHKERNEL_H

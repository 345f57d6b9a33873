//===- FlashAttention.h - fused causal attention kernel generator -*- C++
//-*-===//
//
// Emits, as MLIR text, one sm_90a fused attention kernel (FlashAttention-2
// style: mma.sync m16n8k16 tensor-core tiles, online softmax in registers,
// cp.async double-buffered K/V tiles; the T x T score matrix is never
// materialized) plus a host function that launches it: dense (causal or
// full) attention, or a sliding window (fly.local_attention) that visits
// only the key tiles of each query tile's band.
//
// Like WgmmaGemm.h, this is plain C++17 string building: no MLIR headers.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_CONVERSION_FLYTOGPU_FLASHATTENTION_H
#define FLY_CONVERSION_FLYTOGPU_FLASHATTENTION_H

#include <cstdint>
#include <string>

namespace fly::gpu {

/// O[b] = softmax(scale . Q[b] . K[b]^T + mask) . V[b] for every b <
/// batchHeads; Q, K, V, O are [batchHeads, seq, headDim], row-major and
/// contiguous. With `causal`, key j > query i is masked.
///
/// With `window` w > 0 (fly.local_attention), query i sees only keys
///   causal:     j in (i - w, i]
///   non-causal: j in [i - w/2, i - w/2 + w)   (w/2 rounded down)
/// (and 0 <= j < T); each CTA then visits only the key tiles that meet the
/// band of its query tile, so the work is O(T w), not O(T^2).
///
/// With `packedQkv` (GPT-2's fused projection, no transposes around the
/// kernel), H = `heads`, B = batchHeads / H, D = headDim, T = seq, and the
/// launcher takes (%qkv: memref<(B*T)x(3*H*D)xT>, %o: memref<(B*T)x(H*D)xT>):
/// for batch*head bh = b*H + h, Q[bh][t][j] = qkv[b*T + t, h*D + j],
/// K at column offset H*D, V at 2*H*D, and O[bh][t][j] is written to
/// o[b*T + t, h*D + j].
struct AttentionSpec {
  int64_t batchHeads = 0; // B*H
  int64_t seq = 0;        // T (queries = keys), any T >= 1
  int64_t headDim = 64;   // D: 64 or 128
  /// "f16" or "bf16" for Q, K, V, O; softmax and accumulation are f32.
  std::string elementType = "f16";
  bool causal = true;
  /// Softmax scale; 0 means 1/sqrt(headDim).
  double scale = 0;
  /// Query rows per CTA: 64 (4 warps) or 128 (8 warps), 16 rows per warp;
  /// 0 picks the default (64).
  int64_t blockM = 0;
  /// Packed layout (above); `heads` must then divide batchHeads.
  bool packedQkv = false;
  int64_t heads = 0;
  /// Sliding window (above); 0: none (dense causal or full attention).
  int64_t window = 0;
  /// > 0: Scatterbrain (fly.scatterbrain_attention, non-causal, with
  /// `window`) with this many Performer features; see
  /// emitScatterbrainKeyFeatures for the operands. Only 64 is supported.
  int64_t features = 0;
};

struct AttentionEmitOptions {
  /// > 0: the module also holds func.func private
  /// @<attentionBenchmarkName(spec)> (same arguments as the launcher) that
  /// enqueues this many launches back to back on one stream, then waits.
  int64_t benchmarkRepeats = 0;
  /// Tuning knobs; the defaults are the fastest measured on an H100
  /// (tools/gpu/attention-selftest/NOTES.md).
  /// K/V shared-memory stages (2 or 3).
  int64_t kvStages = 2;
  /// K and V of a tile in separate cp.async groups, so that S = Q.K^T starts
  /// while V is still in flight.
  bool splitKVGroups = true;
  /// O staged through shared memory, then written with 16-byte stores.
  bool stagedEpilogue = true;
  /// mma.sync form: Q fragments kept in registers across the key loop (16
  /// registers at D=64); false: re-read from shared memory (ldmatrix) for
  /// every key tile. The wgmma form always reads Q from shared memory.
  bool qInRegisters = true;
  /// > 0: the launch bound (CTAs per SM, .minnctapersm; the register cap is
  /// 64K / (threads * this)) instead of the default (4 for D=64, BM=64 with
  /// 2 stages, i.e. 128 registers).
  int64_t minBlocksPerSM = 0;
  /// Hopper warpgroup MMA: S = Q.K^T (both operands in shared memory) and
  /// O += P.V (P from registers) as wgmma m64n64k16 instead of mma.sync,
  /// with Q/K/V tiles in the 128-byte swizzled layout wgmma reads. Applies
  /// to D = 64 without Scatterbrain features; other specs use mma.sync.
  bool wgmma = true;
};

/// Returns "" and sets `error` if the spec is unsupported. Otherwise the text
/// of one `module attributes {gpu.container_module}` holding
///   gpu.module @<attentionKernelModuleName(spec)> {
///     gpu.func @<attentionKernelName(spec)>(%q, %k, %v, %o) kernel }
///   func.func private @<attentionLauncherName(spec)>(
///       %q: memref<BHxTxDxT>, %k: ..., %v: ..., %o: memref<BHxTxDxT>)
/// (packedQkv: (%qkv, %o) as described at AttentionSpec; the kernel takes the
/// same arguments as the launcher)
/// The launcher runs one synchronous gpu.launch_func: grid (ceil(T/BM), BH),
/// BM/16 warps, dynamic shared memory (above 48 KB for BM=128 or D=128: the
/// runtime must opt in, as mgpuLaunchKernel does).
///
/// The gpu.module carries no target attribute; the pipeline in
/// tools/gpu/attention-selftest/build-here.sh lowers it (the same one as the
/// GEMM's).
std::string emitFlashAttention(const AttentionSpec &spec, std::string &error,
                               const AttentionEmitOptions &options = {});

/// Checks `spec` only; returns "" when emitFlashAttention would accept it.
std::string verifyAttentionSpec(const AttentionSpec &spec);

/// Causal attention without a window: the number G of heads (batch*head
/// rows of the grid) whose query tiles are ordered longest first together.
/// CTA n of the grid in launch order (blockIdx.x + ceil(T/BM) * blockIdx.y)
/// takes group n / (G ceil(T/BM)), within it query tile ceil(T/BM) - 1 -
/// (n mod (G ceil(T/BM))) / G of head n mod G: every head's long tiles
/// start before any short one, so the short tiles fill the end of the grid
/// (H100, GPT-2 b8: 50.5 -> 43.9 us per launch), while the G heads' K and V
/// stay within kAttentionTileGroupL2Bytes of L2. G is the largest divisor
/// of BH that fits. 1 means the grid order: heads in order, each head's
/// tiles from the last (windowed attention: from the first); it is what
/// windowed and non-causal attention get, whose tiles have equal work.
int64_t attentionHeadsPerTileGroup(const AttentionSpec &spec);
constexpr int64_t kAttentionTileGroupL2Bytes = 16 << 20;

/// Scatterbrain (spec.features = F > 0) runs as two generated kernels and a
/// reduction between them. With phi(x)_f = exp(c w_f.x - c^2 |x|^2 / 2 -
/// ln(F) / 2), c = sqrt(scale), w = proj [F, D], C = T / 64 key chunks and
/// G = scatterbrainGroups(spec) chunk groups per head:
///
/// 1. Key features, emitScatterbrainKeyFeatures: launcher
///      (%k, %v: [BH, T, D], %proj: [F, D],
///       %phik: [BH, T, F] elem, %mc: [BH, C] f32, %kvg: [BH, G, D, F] f32,
///       %zg: [BH, G, F] f32, %mg: [BH, G] f32)
///    writes, all exponents in log2 units (L_j = log2 phi(k_j)):
///      mc[c] = the max of L over chunk c and the earlier chunks of its
///      group, phik[j] = 2^(L_j - mc[chunk(j)]) (<= 1);
///      mg[g] = max over group g of L, kvg[g][d][f] = sum over the group of
///      2^(L_jf - mg[g]) v_jd, zg[g][f] = sum over the group of
///      2^(L_jf - mg[g]).
/// 2. Combine, emitScatterbrainCombine: launcher
///      (%mg, %kvg, %zg, %kvt: [BH, D, F] elem, %z: [BH, F] f32,
///       %stab: [BH] f32)
///    reduces the groups: stab = max_g mg[g], u_g = 2^(mg[g] - stab -
///    shift), shift = scatterbrainShift(spec) (keeps the sums in f16 range),
///    kvt[d][f] = sum_g u_g kvg[g][d][f], z[f] = sum_g u_g zg[g][f].
/// 3. The windowed flash kernel (emitFlashAttention with spec.features)
///    takes (%q, %k, %v, %proj, %phik, %mc, %kvt: [BH, D, F] elem,
///    %z: [BH, F] f32, %stab: [BH] f32, %o): inside the band it weights
///    key j by e^(s_ij) - phi(q_i).phi(k_j) (from phik and mc), and adds
///    phi(q_i) (kvt, z) 2^(stab + shift) for every key, i.e. the
///    fly.scatterbrain_attention formula, with phi(q_i) computed in the
///    kernel from Q and proj.
int64_t scatterbrainChunksPerGroup(const AttentionSpec &spec);
int64_t scatterbrainGroups(const AttentionSpec &spec);
int64_t scatterbrainShift(const AttentionSpec &spec);
std::string emitScatterbrainKeyFeatures(const AttentionSpec &spec,
                                        std::string &error);
std::string scatterbrainKeyFeaturesName(const AttentionSpec &spec);
std::string scatterbrainKeyFeaturesLauncherName(const AttentionSpec &spec);
std::string emitScatterbrainCombine(const AttentionSpec &spec,
                                    std::string &error);
std::string scatterbrainCombineName(const AttentionSpec &spec);
std::string scatterbrainCombineLauncherName(const AttentionSpec &spec);

/// Names, unique per spec, e.g. fly_attn_bh96_t1024_d64_f16_causal
/// (a window adds _w<window>, e.g. fly_attn_bh12_t16384_d64_f16_causal_w256;
/// packedQkv adds _qkv_h<heads>).
std::string attentionKernelName(const AttentionSpec &spec);
std::string attentionKernelModuleName(const AttentionSpec &spec);
std::string attentionLauncherName(const AttentionSpec &spec);
std::string attentionBenchmarkName(const AttentionSpec &spec);

} // namespace fly::gpu

#endif // FLY_CONVERSION_FLYTOGPU_FLASHATTENTION_H

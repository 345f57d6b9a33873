//===- KernelGeneratorTest.cpp - The GPU kernel generators' contracts -----===//
//
// The generators (plain C++ emitting MLIR text) run on the CPU: they must
// reject what their kernels do not support with a message naming the
// offending size, accept what the compiler hands them, and give every spec
// its own kernel and launcher names. The text itself is parsed, lowered and
// assembled by the lit tests in test/GPU (and run on the GPU machine by
// tools/gpu/*-selftest).
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToGPU/FlashAttention.h"
#include "fly/Conversion/FlyToGPU/LayerNormKernel.h"
#include "fly/Conversion/FlyToGPU/MonarchKernel.h"
#include "fly/Conversion/FlyToGPU/WgmmaGemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace fly::gpu;

namespace {

GemmSpec gemm(int64_t m, int64_t n, int64_t k) {
  GemmSpec s;
  s.m = m, s.n = n, s.k = k;
  return s;
}

TEST(GemmGeneratorTest, RejectsUnsupportedShapesWithAReason) {
  EXPECT_EQ(verifyGemmSpec(gemm(8192, 3072, 768)), "");
  EXPECT_EQ(verifyGemmSpec(gemm(1, 128, 64)), "") << "any m >= 1";
  EXPECT_NE(verifyGemmSpec(gemm(64, 128, 100)).find("k=100"),
            std::string::npos);
  EXPECT_NE(verifyGemmSpec(gemm(64, 100, 64)).find("n=100"), std::string::npos);
  EXPECT_NE(verifyGemmSpec(gemm(0, 128, 64)).find("m=0"), std::string::npos);
  GemmSpec f32 = gemm(64, 128, 64);
  f32.elementType = "f32";
  EXPECT_NE(verifyGemmSpec(f32).find("f32"), std::string::npos);
  std::string error;
  EXPECT_EQ(emitWgmmaGemm(gemm(64, 128, 100), error), "");
  EXPECT_NE(error.find("k=100"), std::string::npos) << error;
}

TEST(GemmGeneratorTest, EmitsKernelAndLauncherNamedAfterTheSpec) {
  GemmSpec s = gemm(8192, 3072, 768);
  s.epilogue = GemmEpilogue::BiasGeluTanh;
  std::string error;
  std::string text = emitWgmmaGemm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("gpu.module @" + gemmKernelModuleName(s)),
            std::string::npos);
  EXPECT_NE(text.find("func.func private @" + gemmLauncherName(s)),
            std::string::npos);
  EXPECT_NE(text.find("nvgpu.tma.create.descriptor"), std::string::npos);
  EXPECT_NE(text.find("nvgpu.mbarrier.try_wait.parity"), std::string::npos);
  EXPECT_NE(text.find("wgmma"), std::string::npos);
  // Distinct specs, distinct names (they share one module in a model).
  std::set<std::string> names;
  for (GemmEpilogue e :
       {GemmEpilogue::None, GemmEpilogue::Bias, GemmEpilogue::BiasGeluTanh})
    for (bool residual : {false, true}) {
      GemmSpec v = s;
      v.epilogue = e;
      v.residual = residual;
      EXPECT_TRUE(names.insert(gemmKernelName(v)).second) << gemmKernelName(v);
    }
}

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size()))
    ++n;
  return n;
}

TEST(GemmGeneratorTest, FoldedLayerNormNeedsABiasAndTakesTheColumnSums) {
  GemmSpec s = gemm(8192, 2304, 768);
  s.layerNormInput = true;
  EXPECT_NE(verifyGemmSpec(s).find("bias"), std::string::npos)
      << "beta is folded into the bias: no bias, no fold";
  s.epilogue = GemmEpilogue::Bias;
  EXPECT_EQ(verifyGemmSpec(s), "");
  s.layerNormEps = -1;
  EXPECT_NE(verifyGemmSpec(s).find("epsilon"), std::string::npos);
  s.layerNormEps = 1e-5;
  GemmSpec plain = s;
  plain.layerNormInput = false;
  EXPECT_NE(gemmKernelName(s), gemmKernelName(plain));
  GemmSpec otherEps = s;
  otherEps.layerNormEps = 1e-6;
  EXPECT_NE(gemmKernelName(s), gemmKernelName(otherEps));

  std::string error;
  std::string text = emitWgmmaGemm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  // Launcher and kernel take the f32 column sums and row statistics after
  // the bias.
  EXPECT_NE(text.find("%bias: memref<2304xf16>, %colsum: memref<2304xf32>, "
                      "%stats: memref<8192x1x2xf32>"),
            std::string::npos);
  // Thread t loads row t's statistics (one partial) once, at the start, and
  // turns them into 1/sqrt(var + eps) once (the epilogue reads them from
  // shared memory); the column sums are loaded once.
  EXPECT_EQ(count(text, "vector.load %stats["), 1u);
  EXPECT_NE(text.find("vector<2xf32>"), std::string::npos);
  EXPECT_EQ(count(text, "vector.load %colsum["), 1u);
  EXPECT_EQ(count(text, "math.rsqrt"), 1u);
  EXPECT_EQ(count(emitWgmmaGemm(plain, error), "%stats"), 0u);
}

TEST(GemmGeneratorTest, FoldedLayerNormMergesPartials) {
  GemmSpec s = gemm(8192, 2304, 768);
  s.epilogue = GemmEpilogue::Bias;
  s.layerNormInput = true;
  GemmSpec one = s;
  s.layerNormPartials = 6;
  EXPECT_EQ(verifyGemmSpec(s), "");
  EXPECT_NE(gemmKernelName(s), gemmKernelName(one));
  std::string error;
  std::string text = emitWgmmaGemm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("%stats: memref<8192x6x2xf32>"), std::string::npos);
  // One load of the row's six (mean, variance) pairs, one rsqrt.
  EXPECT_EQ(count(text, "vector.load %stats["), 1u);
  EXPECT_NE(text.find("vector<12xf32>"), std::string::npos);
  EXPECT_EQ(count(text, "math.rsqrt"), 1u);
  GemmSpec bad = s;
  bad.layerNormPartials = 5; // 768 columns do not split into 5
  EXPECT_NE(verifyGemmSpec(bad).find("layerNormPartials"), std::string::npos);
  bad.layerNormPartials = 0;
  EXPECT_NE(verifyGemmSpec(bad).find("layerNormPartials"), std::string::npos);
}

TEST(GemmGeneratorTest, RowStatisticsOutputOnePartialPerColumnTile) {
  GemmSpec s = gemm(8192, 768, 768);
  s.epilogue = GemmEpilogue::Bias;
  s.residual = true;
  GemmSpec plain = s;
  s.rowStatistics = true;
  EXPECT_EQ(verifyGemmSpec(s), "");
  EXPECT_EQ(gemmRowStatisticsPartials(s), 6);
  EXPECT_NE(gemmKernelName(s), gemmKernelName(plain));
  std::string error;
  std::string text = emitWgmmaGemm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  // The partials are an output after C, in the launcher and the kernel.
  EXPECT_NE(text.find("%c: memref<8192x768xf16>, %stats_out: "
                      "memref<8192x6x2xf32>"),
            std::string::npos);
  EXPECT_NE(text.find("%out: memref<8192x768xf16>, %stats_out: "
                      "memref<8192x6x2xf32>"),
            std::string::npos);
  // 128 rows in passes of 4 (a warp per row, 4 columns per lane), in 4
  // batches of 8 passes: per batch a transposed butterfly of (mean, M2)
  // pairs over 8 rows, 2 x (4 + 2 + 1 + 1 + 1) shuffles, and one store per
  // batch by each row's holder lane.
  EXPECT_EQ(count(text, "gpu.shuffle xor"), 4u * 18u);
  EXPECT_EQ(count(text, ", %stats_out["), 4u);
  EXPECT_EQ(count(emitWgmmaGemm(plain, error), "gpu.shuffle"), 0u);
  // tileN 64: half-warps per row, 2 batches of 2 x (4 + 2 + 1 + 1).
  GemmSpec narrow = gemm(256, 64, 64);
  narrow.tileN = defaultGemmTileN(64);
  narrow.rowStatistics = true;
  EXPECT_EQ(narrow.tileN, 64);
  EXPECT_EQ(gemmRowStatisticsPartials(narrow), 1);
  text = emitWgmmaGemm(narrow, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_EQ(count(text, "gpu.shuffle xor"), 2u * 16u);
}

TEST(GemmGeneratorTest, DefaultTileWidth) {
  EXPECT_EQ(defaultGemmTileN(768), 128);
  EXPECT_EQ(defaultGemmTileN(192), 64);
  EXPECT_EQ(defaultGemmTileN(64), 64);
  EXPECT_EQ(defaultGemmTileN(100), 128) << "neither divides: 128 (rejected)";
}

/// GPT-2's attention projection at batch 8 (bias + residual), warp-
/// specialised.
GemmSpec wsProjection() {
  GemmSpec s = gemm(8192, 768, 768);
  s.epilogue = GemmEpilogue::Bias;
  s.residual = true;
  s.warpSpecialized = true;
  return s;
}

TEST(GemmGeneratorTest, WarpSpecialisedScheduleLaunchesAPersistentGrid) {
  GemmSpec s = wsProjection();
  std::string error;
  std::string text = emitWgmmaGemm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_EQ(gemmKernelName(s), "fly_gemm_m8192_n768_k768_f16_bias_res_ws");
  // 132 CTAs (one per H100 SM) of two consumer warpgroups + a producer warp.
  EXPECT_NE(text.find("known_block_size = array<i32: 288, 1, 1>"),
            std::string::npos);
  EXPECT_NE(text.find("blocks in (%c132, %c1, %c1) threads in (%c288"),
            std::string::npos)
      << text.substr(text.find("gpu.launch_func"), 300);
  // Full, empty, ordering and (residual) R-tile barriers; slots released
  // by arrivals, the consumers synchronised only by their own named
  // barriers.
  EXPECT_EQ(count(text, "nvgpu.mbarrier.create"), 4u);
  EXPECT_GE(count(text, "nvgpu.mbarrier.arrive %"), 2u);
  EXPECT_NE(text.find("nvvm.barrier id = "), std::string::npos);
  EXPECT_EQ(count(text, "gpu.barrier"), 1u) << "only after the barrier init";
  // Fewer tiles than SMs: one CTA per tile.
  GemmSpec small = gemm(256, 256, 64);
  small.warpSpecialized = true;
  text = emitWgmmaGemm(small, error);
  EXPECT_NE(text.find("blocks in (%c4, %c1, %c1)"), std::string::npos);
  // The CTA count is a spec field, and only means something here.
  GemmSpec ctas = s;
  ctas.persistentCtas = 66;
  EXPECT_EQ(verifyGemmSpec(ctas), "");
  EXPECT_EQ(gemmKernelName(ctas), gemmKernelName(s) + "_ctas66");
  ctas.persistentCtas = -1;
  EXPECT_NE(verifyGemmSpec(ctas).find("persistentCtas=-1"), std::string::npos);
  ctas.persistentCtas = 66;
  ctas.warpSpecialized = false;
  EXPECT_NE(verifyGemmSpec(ctas).find("warp-specialised"), std::string::npos);
}

TEST(GemmGeneratorTest, WarpSpecialisedEpilogueMovesCAndRByTma) {
  GemmSpec s = wsProjection();
  std::string error;
  std::string text = emitWgmmaGemm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  // C and R descriptors (128 x 64 boxes) after A's and B's.
  EXPECT_NE(text.find("(%tma_a_ptr: !llvm.ptr, %tma_b_ptr: !llvm.ptr, "
                      "%tma_c_ptr: !llvm.ptr, %tma_r_ptr: !llvm.ptr, %bias"),
            std::string::npos);
  EXPECT_EQ(count(text, "box[%c128, %c64]"), 4u) << "A, B (tileN 128), C, R";
  // R tiles loaded into the C buffer (two 64-column boxes per tile), the
  // values computed in the accumulator fragments, C stored by TMA.
  EXPECT_EQ(count(text, "nvgpu.tma.async.load %tma_r["), 2u);
  EXPECT_EQ(count(text, "nvgpu.tma.async.store "), 2u);
  EXPECT_NE(text.find("to !llvm.struct<(struct<(f32"), std::string::npos);
  EXPECT_EQ(text.find("nvgpu.warpgroup.mma.store"), std::string::npos);
  EXPECT_NE(text.find("nvvm.cp.async.bulk.wait_group 0 {read}"),
            std::string::npos);
  // Without a residual: no R descriptor or barrier.
  GemmSpec noRes = s;
  noRes.residual = false;
  text = emitWgmmaGemm(noRes, error);
  EXPECT_EQ(text.find("%tma_r"), std::string::npos);
  EXPECT_EQ(count(text, "nvgpu.mbarrier.create"), 3u);
  // The staging epilogue stays selectable (for same-run comparisons), for
  // the warp-specialised schedule only.
  GemmSpec staging = s;
  staging.stagingEpilogue = true;
  text = emitWgmmaGemm(staging, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_EQ(gemmKernelName(staging), gemmKernelName(s) + "_stg");
  EXPECT_NE(text.find("nvgpu.warpgroup.mma.store"), std::string::npos);
  EXPECT_EQ(text.find("%tma_c"), std::string::npos);
  staging.warpSpecialized = false;
  EXPECT_NE(verifyGemmSpec(staging).find("warp-specialised"),
            std::string::npos);
}

TEST(GemmGeneratorTest, ProducerWarpgroupHandsItsRegistersToTheConsumers) {
  GemmSpec s = wsProjection();
  s.producerWarpgroup = true;
  std::string error;
  std::string text = emitWgmmaGemm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_EQ(gemmKernelName(s), gemmKernelName(wsProjection()) + "_pwg");
  // A whole producer warpgroup (384 threads); ptxas honours setmaxnreg only
  // with the entry count stated (64K / 384, a multiple of 8) and one CTA
  // per SM.
  EXPECT_NE(text.find("known_block_size = array<i32: 384, 1, 1>, "
                      "nvvm.minctasm = 1 : i32, nvvm.maxnreg = 168 : i32"),
            std::string::npos);
  EXPECT_NE(text.find("threads in (%c384"), std::string::npos);
  // The consumers take 232 registers, the producer warpgroup keeps 40, in
  // the two regions of one warpgroup-uniform scf.if (consumers first).
  size_t increase = text.find("nvvm.setmaxregister increase 232");
  size_t otherwise = text.find("} else {");
  size_t decrease = text.find("nvvm.setmaxregister decrease 40");
  ASSERT_NE(increase, std::string::npos);
  ASSERT_NE(otherwise, std::string::npos);
  ASSERT_NE(decrease, std::string::npos);
  EXPECT_LT(increase, otherwise);
  EXPECT_LT(otherwise, decrease);
  // The producer's TMA loads of A and B come after the consumers' code.
  EXPECT_GT(text.find("nvgpu.tma.async.load %tma_a["), decrease);
  // Without the flag: 288 threads and no register moves.
  text = emitWgmmaGemm(wsProjection(), error);
  EXPECT_EQ(text.find("setmaxregister"), std::string::npos);
  EXPECT_EQ(text.find("nvvm.maxnreg"), std::string::npos);
  // The warp-specialised schedule only.
  s.warpSpecialized = false;
  EXPECT_NE(verifyGemmSpec(s).find("warp-specialised"), std::string::npos);
}

TEST(GemmGeneratorTest, RegisterEpiloguePaysWithResidualOrGelu) {
  // H100, 2026-12-07: register epilogue 6-8% faster with a residual or
  // GELU, 3% slower with a bias only (docs/benchmarks.md).
  GemmSpec s = gemm(32768, 768, 768);
  s.epilogue = GemmEpilogue::Bias;
  EXPECT_FALSE(gemmRegisterEpiloguePays(s)); // QKV
  s.residual = true;
  EXPECT_TRUE(gemmRegisterEpiloguePays(s)); // attention / MLP projection
  s.residual = false;
  s.epilogue = GemmEpilogue::BiasGeluTanh;
  EXPECT_TRUE(gemmRegisterEpiloguePays(s)); // MLP up projection
  s.epilogue = GemmEpilogue::None;
  EXPECT_FALSE(gemmRegisterEpiloguePays(s));
}

TEST(GemmGeneratorTest, WarpSpecialisationPaysForFewOrManyTilesPerCta) {
  // 132 CTAs: <= 1.5 tiles each, or >= 4 (the H100 measurements behind the
  // rule are in WgmmaGemm.cpp).
  EXPECT_TRUE(gemmWarpSpecializationPays(gemm(2048, 768, 768)));   // 96
  EXPECT_TRUE(gemmWarpSpecializationPays(gemm(1000, 2304, 3072))); // 144
  EXPECT_FALSE(gemmWarpSpecializationPays(gemm(2048, 2304, 768))); // 288
  EXPECT_FALSE(gemmWarpSpecializationPays(gemm(8192, 768, 768)));  // 384
  EXPECT_TRUE(gemmWarpSpecializationPays(gemm(16384, 768, 768)));  // 768
  EXPECT_TRUE(gemmWarpSpecializationPays(gemm(8192, 2304, 768)));  // 1152
}

TEST(AttentionGeneratorTest, ChecksHeadDimAndPackedLayout) {
  AttentionSpec s;
  s.batchHeads = 96, s.seq = 1024, s.headDim = 64;
  EXPECT_EQ(verifyAttentionSpec(s), "");
  s.seq = 100; // ragged last tile
  EXPECT_EQ(verifyAttentionSpec(s), "");
  AttentionSpec bad = s;
  bad.headDim = 48;
  EXPECT_NE(verifyAttentionSpec(bad), "");
  AttentionSpec packed = s;
  packed.packedQkv = true;
  packed.heads = 5; // does not divide 96
  EXPECT_NE(verifyAttentionSpec(packed), "");
  packed.heads = 12;
  EXPECT_EQ(verifyAttentionSpec(packed), "");
  EXPECT_NE(attentionKernelName(packed), attentionKernelName(s));
  std::string error;
  std::string text = emitFlashAttention(packed, error);
  ASSERT_FALSE(text.empty()) << error;
  // D = 64: S = Q.K^T and O += P.V on wgmma (shared-memory A and B for S,
  // register A for P.V), one inline-asm block each per loop (unmasked and
  // masked key tiles); no mma.sync or ldmatrix left.
  EXPECT_EQ(count(text, "wgmma.commit_group"), 4u);
  EXPECT_EQ(count(text, ", 1, 1, 0, 0; "), 2u * 4u) << "S: 4 k16 steps";
  EXPECT_EQ(count(text, ", fly_acc, 1, 1, 1; "), 2u * 4u) << "P.V (trans-b)";
  EXPECT_EQ(text.find("nvgpu.mma.sync"), std::string::npos);
  EXPECT_EQ(text.find("nvgpu.ldmatrix"), std::string::npos);
  EXPECT_NE(text.find("nvvm.fence.proxy"), std::string::npos);
  EXPECT_NE(text.find("@" + attentionLauncherName(packed)), std::string::npos);
  // The sm_80 form stays available (and is what D = 128 uses).
  AttentionEmitOptions mmaSync;
  mmaSync.wgmma = false;
  std::string old = emitFlashAttention(packed, error, mmaSync);
  ASSERT_FALSE(old.empty()) << error;
  EXPECT_NE(old.find("nvgpu.mma.sync"), std::string::npos);
  EXPECT_NE(old.find("nvgpu.ldmatrix"), std::string::npos);
  EXPECT_EQ(old.find("wgmma"), std::string::npos);
  AttentionSpec d128 = packed;
  d128.headDim = 128;
  std::string wide = emitFlashAttention(d128, error);
  ASSERT_FALSE(wide.empty()) << error;
  EXPECT_NE(wide.find("nvgpu.mma.sync"), std::string::npos);
  EXPECT_EQ(wide.find("wgmma"), std::string::npos);
}

TEST(AttentionGeneratorTest, CausalTilesRunLongestFirstAcrossHeadGroups) {
  AttentionSpec s;
  s.batchHeads = 96, s.seq = 1024, s.headDim = 64, s.causal = true;
  // K and V of a head: 256 KB at T 1024, D 64; groups within 16 MB.
  EXPECT_EQ(attentionHeadsPerTileGroup(s), 48)
      << "GPT-2 b8: 64 does not divide 96";
  s.batchHeads = 384;
  EXPECT_EQ(attentionHeadsPerTileGroup(s), 64) << "GPT-2 b32";
  s.batchHeads = 7;
  EXPECT_EQ(attentionHeadsPerTileGroup(s), 7);
  s.batchHeads = 12, s.seq = 16384; // 4 MB per head
  EXPECT_EQ(attentionHeadsPerTileGroup(s), 4);
  AttentionSpec full = s;
  full.causal = false;
  EXPECT_EQ(attentionHeadsPerTileGroup(full), 1) << "equal work per tile";
  AttentionSpec windowed = s;
  windowed.window = 256;
  EXPECT_EQ(attentionHeadsPerTileGroup(windowed), 1);

  // The order the kernel computes (see the header) visits every (tile,
  // head) once and, inside a group, starts every head's tile t before any
  // tile t' < t.
  s.batchHeads = 96, s.seq = 1024;
  int64_t g = attentionHeadsPerTileGroup(s), tiles = 16;
  std::vector<int> seen(tiles * s.batchHeads, 0);
  int64_t lastTile = tiles;
  for (int64_t n = 0; n < tiles * s.batchHeads; ++n) {
    int64_t within = n % (g * tiles);
    int64_t tile = tiles - 1 - within / g;
    int64_t head = n / (g * tiles) * g + within % g;
    ASSERT_LT(head, s.batchHeads);
    ++seen[tile * s.batchHeads + head];
    if (within == 0)
      lastTile = tiles;
    EXPECT_LE(tile, lastTile) << n;
    lastTile = tile;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), tiles * s.batchHeads);
  std::string error;
  std::string text = emitFlashAttention(s, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("%bh_grouped"), std::string::npos);
  EXPECT_NE(text.find("arith.remui %cta"), std::string::npos);
  std::string natural = emitFlashAttention(windowed, error);
  ASSERT_FALSE(natural.empty()) << error;
  EXPECT_EQ(natural.find("%bh_grouped"), std::string::npos);
}

TEST(AttentionGeneratorTest, SlidingWindowSpecsAndNames) {
  // The issue's case: T = 16K, 12 heads, D = 64, window 256, causal.
  AttentionSpec s;
  s.batchHeads = 12, s.seq = 16384, s.headDim = 64, s.window = 256;
  EXPECT_EQ(verifyAttentionSpec(s), "");
  EXPECT_EQ(attentionKernelName(s), "fly_attn_bh12_t16384_d64_f16_causal_w256");
  // Every supported combination takes a window: non-causal, ragged T,
  // windows that are not tile multiples, wider than T, 8 warps, bf16,
  // D = 128, the packed GPT-2 layout.
  for (int64_t window : {1, 3, 100, 256, 5000})
    for (bool causal : {true, false}) {
      AttentionSpec v = s;
      v.seq = 333, v.window = window, v.causal = causal;
      EXPECT_EQ(verifyAttentionSpec(v), "") << window << " " << causal;
      v.blockM = 128, v.elementType = "bf16", v.headDim = 128;
      v.packedQkv = true, v.heads = 4;
      EXPECT_EQ(verifyAttentionSpec(v), "") << window << " " << causal;
    }
  // The window is checked and named.
  AttentionSpec negative = s;
  negative.window = -1;
  EXPECT_NE(verifyAttentionSpec(negative).find("window=-1"), std::string::npos);
  AttentionSpec huge = s;
  huge.seq = int64_t(1) << 30; // i32 key arithmetic
  EXPECT_NE(verifyAttentionSpec(huge).find("seq="), std::string::npos);
  huge.window = 0;
  EXPECT_EQ(verifyAttentionSpec(huge), "") << "dense kernels have no bound";
  std::set<std::string> names;
  for (int64_t window : {0, 64, 256})
    for (bool causal : {true, false}) {
      AttentionSpec v = s;
      v.window = window, v.causal = causal;
      EXPECT_TRUE(names.insert(attentionKernelName(v)).second)
          << attentionKernelName(v);
    }
  AttentionSpec packed = s;
  packed.packedQkv = true, packed.heads = 12, packed.causal = false;
  EXPECT_EQ(attentionKernelName(packed),
            "fly_attn_bh12_t16384_d64_f16_full_w256_qkv_h12");

  // One key loop (the mask is a branch on the band's edge tiles) over the
  // tiles of the band: half the wgmma blocks of a dense causal kernel,
  // which has an unmasked and a masked loop.
  std::string error;
  std::string text = emitFlashAttention(s, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("gpu.func @fly_attn_bh12_t16384_d64_f16_causal_w256("),
            std::string::npos);
  EXPECT_NE(text.find("@" + attentionLauncherName(s)), std::string::npos);
  EXPECT_EQ(count(text, "scf.for"), 1u);
  EXPECT_NE(text.find("%first_tile"), std::string::npos);
  EXPECT_NE(text.find("%edge"), std::string::npos);
  AttentionSpec dense = s;
  dense.window = 0;
  std::string denseText = emitFlashAttention(dense, error);
  ASSERT_FALSE(denseText.empty()) << error;
  EXPECT_EQ(count(denseText, "scf.for"), 2u);
  EXPECT_EQ(count(text, "wgmma.commit_group"), 2u);
  EXPECT_EQ(count(denseText, "wgmma.commit_group"), 4u);
  // Grid: one CTA per 64 query rows and batch*head, in natural order.
  EXPECT_NE(text.find("grid 256x12"), std::string::npos);
  EXPECT_EQ(text.find("%q_tile"), std::string::npos);
  EXPECT_NE(denseText.find("%q_tile"), std::string::npos) << "reversed";
}

TEST(AttentionGeneratorTest, ScatterbrainSpecsGroupsAndKernels) {
  // The issue's case: T = 16K, 12 heads, D = 64, window 256, 64 features.
  AttentionSpec s;
  s.batchHeads = 12, s.seq = 16384, s.headDim = 64, s.window = 256;
  s.causal = false, s.features = 64;
  EXPECT_EQ(verifyAttentionSpec(s), "");
  EXPECT_EQ(attentionKernelName(s),
            "fly_attn_bh12_t16384_d64_f16_full_w256_sb64");
  EXPECT_EQ(scatterbrainKeyFeaturesName(s), attentionKernelName(s) + "_keys");
  // Groups: about 1024 CTAs, 1 .. 16 chunks each; the last may be short.
  EXPECT_EQ(scatterbrainChunksPerGroup(s), 3);
  EXPECT_EQ(scatterbrainGroups(s), 86); // ceil(256 / 3)
  AttentionSpec small = s;
  small.batchHeads = 1, small.seq = 256;
  EXPECT_EQ(scatterbrainChunksPerGroup(small), 1);
  EXPECT_EQ(scatterbrainGroups(small), 4);
  AttentionSpec huge = s;
  huge.seq = 1 << 20;
  EXPECT_EQ(scatterbrainChunksPerGroup(huge), 16);
  // Shift = ceil(log2 T): the combined sums stay within f16.
  EXPECT_EQ(scatterbrainShift(s), 14);
  EXPECT_EQ(scatterbrainShift(AttentionSpec{1, 1600, 64}), 11);

  // What the kernels cannot do is refused with the reason.
  auto rejects = [&](AttentionSpec v, const std::string &what) {
    std::string why = verifyAttentionSpec(v);
    EXPECT_NE(why.find(what), std::string::npos) << why;
    std::string error;
    EXPECT_EQ(emitScatterbrainKeyFeatures(v, error), "");
    EXPECT_EQ(emitScatterbrainCombine(v, error), "");
    EXPECT_EQ(emitFlashAttention(v, error), "");
    EXPECT_FALSE(error.empty());
  };
  AttentionSpec v = s;
  v.features = 32;
  rejects(v, "features=32");
  v = s, v.causal = true;
  rejects(v, "non-causal");
  v = s, v.window = 0;
  rejects(v, "need a window");
  v = s, v.headDim = 128;
  rejects(v, "headDim=64");
  v = s, v.seq = 1000;
  rejects(v, "seq=1000 is not a multiple of 64");
  v = s, v.packedQkv = true, v.heads = 12;
  rejects(v, "separate q/k/v");

  // Three kernels, each with its launcher; the band kernel takes the
  // feature operands and computes F with mma.sync next to S and P.V.
  std::string error;
  std::string keys = emitScatterbrainKeyFeatures(s, error);
  ASSERT_FALSE(keys.empty()) << error;
  EXPECT_NE(keys.find("gpu.func @" + scatterbrainKeyFeaturesName(s) + "("),
            std::string::npos);
  EXPECT_NE(keys.find("blocks in (%c86"), std::string::npos) << keys;
  EXPECT_NE(keys.find("transpose = true"), std::string::npos);
  std::string combine = emitScatterbrainCombine(s, error);
  ASSERT_FALSE(combine.empty()) << error;
  EXPECT_NE(combine.find("@" + scatterbrainCombineLauncherName(s)),
            std::string::npos);
  std::string band = emitFlashAttention(s, error);
  ASSERT_FALSE(band.empty()) << error;
  EXPECT_NE(band.find("%phik: memref<12x16384x64xf16>"), std::string::npos);
  EXPECT_NE(band.find("%stab: memref<12xf32>"), std::string::npos);
  AttentionSpec local = s;
  local.features = 0;
  // Scatterbrain kernels stay on mma.sync: compare with the same form.
  AttentionEmitOptions mmaSync;
  mmaSync.wgmma = false;
  std::string localText = emitFlashAttention(local, error, mmaSync);
  ASSERT_FALSE(localText.empty()) << error;
  EXPECT_EQ(band.find("wgmma"), std::string::npos);
  // Per key tile: S, F (4 k-steps x 8 n-tiles each) and P.V; plus phi(Q)
  // and the linear part once.
  EXPECT_EQ(count(band, "nvgpu.mma.sync"),
            count(localText, "nvgpu.mma.sync") * 3 / 2 + 32 + 32);
}

TEST(LayerNormGeneratorTest, SpecsNamesAndRaggedRows) {
  LayerNormSpec s;
  s.rows = 8192, s.cols = 768, s.eps = 1e-5;
  EXPECT_EQ(verifyLayerNormSpec(s), "");
  EXPECT_EQ(layerNormKernelName(s), "fly_layernorm_r8192_c768_f16_eps1e_05");
  auto rejects = [](LayerNormSpec v, const std::string &what) {
    std::string why = verifyLayerNormSpec(v);
    EXPECT_NE(why.find(what), std::string::npos) << why;
    std::string error;
    EXPECT_EQ(emitLayerNorm(v, error), "");
    EXPECT_EQ(error, why);
  };
  LayerNormSpec v = s;
  v.cols = 100;
  rejects(v, "cols=100");
  v.cols = 8192;
  rejects(v, "cols=8192");
  v = s, v.elementType = "f32";
  rejects(v, "element type 'f32'");
  v = s, v.rows = 0;
  rejects(v, "rows=0");
  v = s, v.eps = -1;
  rejects(v, "eps");
  // 768 columns = 96 vectors: 3 per lane, no guard; 64 columns = 8
  // vectors: lanes 8..31 idle (scf.if around the last load and store).
  std::string error;
  std::string text = emitLayerNorm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_EQ(count(text, "vector.load %x"), 3u);
  EXPECT_EQ(count(text, "scf.if"), 0u);
  EXPECT_NE(text.find("blocks in (%c2048"), std::string::npos);
  v = s, v.cols = 64, v.rows = 6;
  text = emitLayerNorm(v, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_EQ(count(text, "vector.load %x"), 1u);
  // Rows 6 and 7 of the second CTA do not exist: a row guard too.
  EXPECT_EQ(count(text, "scf.if"), 3u);
}

TEST(LayerNormGeneratorTest, StatisticsOnlyWritesTwoFloatsPerRow) {
  LayerNormSpec s;
  s.rows = 8192, s.cols = 768;
  s.statsOnly = true;
  LayerNormSpec full = s;
  full.statsOnly = false;
  EXPECT_NE(layerNormKernelName(s), layerNormKernelName(full));
  std::string error;
  std::string text = emitLayerNorm(s, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(
      text.find("(%x: memref<8192x768xf16>, %stats: memref<8192x1x2xf32>)"),
      std::string::npos);
  EXPECT_EQ(count(text, "vector.load %x"), 3u);
  EXPECT_EQ(count(text, "vector.store"), 1u) << "lane 0: (mean, variance)";
  EXPECT_EQ(count(text, "math.rsqrt"), 0u) << "the consumer adds eps";
  LayerNormSpec otherEps = s;
  otherEps.eps = 1e-6;
  EXPECT_EQ(layerNormKernelName(s), layerNormKernelName(otherEps));
  EXPECT_EQ(count(text, "%gamma"), 0u);
  EXPECT_EQ(count(text, "%y"), 0u);
}

TEST(MonarchGeneratorTest, AcceptsGpt2MlpShapesOnly) {
  MonarchSpec fc1;
  fc1.m = 8192, fc1.k = 4, fc1.q = 192, fc1.p = 192;
  fc1.l = 4, fc1.s = 768, fc1.r = 192;
  fc1.bias = fc1.gelu = true;
  EXPECT_EQ(verifyMonarchSpec(fc1), "");
  MonarchSpec fc2 = fc1;
  fc2.q = 192, fc2.p = 768, fc2.s = 192;
  fc2.gelu = false;
  EXPECT_EQ(verifyMonarchSpec(fc2), "");
  MonarchSpec inconsistent = fc1;
  inconsistent.r = 128; // l * r must equal k * q
  EXPECT_NE(verifyMonarchSpec(inconsistent), "");
  MonarchSpec narrow = fc1;
  narrow.p = 32, narrow.q = 32, narrow.r = 32, narrow.s = 128;
  EXPECT_NE(verifyMonarchSpec(narrow), "") << "p must be a multiple of 64";
  std::string error;
  std::string text = emitMonarchMatmul(fc1, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("@" + monarchLauncherName(fc1)), std::string::npos);
  EXPECT_NE(monarchKernelName(fc1), monarchKernelName(fc2));
}

TEST(MonarchGeneratorTest, FoldedLayerNormOnTheBlockedUpProjection) {
  MonarchSpec up;
  up.m = 8192, up.k = 4, up.q = 192, up.p = 192;
  up.l = 4, up.s = 768, up.r = 192;
  up.bias = up.gelu = true;
  up.layerNormInput = true;
  EXPECT_NE(verifyMonarchSpec(up).find("blocked output"), std::string::npos)
      << "the natural layouts do not take a LayerNorm";
  up.blockedOutput = true;
  EXPECT_EQ(verifyMonarchSpec(up), "");
  MonarchSpec noBias = up;
  noBias.bias = noBias.gelu = false;
  EXPECT_NE(verifyMonarchSpec(noBias).find("bias"), std::string::npos);
  MonarchSpec plain = up;
  plain.layerNormInput = false;
  EXPECT_NE(monarchKernelName(up), monarchKernelName(plain));

  std::string error;
  std::string text = emitMonarchMatmul(up, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("%bias: memref<3072xf16>, %colsum: memref<3072xf32>, "
                      "%stats: memref<8192x1x2xf32>"),
            std::string::npos);
  // Each thread reads the statistics of its two fragment rows once; the
  // column sums are loaded in the epilogue, next to the bias pairs, and
  // the correction is one fma per value.
  EXPECT_EQ(count(text, "vector.load %stats["), 2u);
  EXPECT_NE(text.find("vector.load %colsum["), std::string::npos);
  EXPECT_NE(text.find("math.fma"), std::string::npos);
  EXPECT_EQ(count(emitMonarchMatmul(plain, error), "%stats"), 0u);
  // Six partials per row (from a GEMM producer): one load per row.
  MonarchSpec six = up;
  six.layerNormPartials = 6;
  EXPECT_NE(monarchKernelName(six), monarchKernelName(up));
  text = emitMonarchMatmul(six, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("%stats: memref<8192x6x2xf32>"), std::string::npos);
  EXPECT_EQ(count(text, "vector.load %stats["), 2u);
  EXPECT_EQ(count(text, "math.rsqrt"), 2u);
}

/// GPT-2 small's Monarch MLP down projection at batch 8 (3072 -> 768,
/// nblocks 4) as fly-gpu-monarch-kernels makes it in a chain: bias,
/// residual add, hidden layer read blocked.
MonarchSpec gpt2DownProjection() {
  MonarchSpec down;
  down.m = 8192, down.k = 4, down.q = 192, down.p = 768;
  down.l = 4, down.s = 192, down.r = 192;
  down.bias = down.residual = true;
  down.inputBlocks = 4;
  return down;
}

/// GPT-2 small's Monarch MLP up projection at batch 8 (768 -> 3072,
/// nblocks 4) as fly-gpu-monarch-kernels makes it in a chain: bias, GELU,
/// hidden layer stored blocked.
MonarchSpec gpt2UpProjection() {
  MonarchSpec up;
  up.m = 8192, up.k = 4, up.q = 192, up.p = 192;
  up.l = 4, up.s = 768, up.r = 192;
  up.bias = up.gelu = true;
  up.blockedOutput = true;
  return up;
}

TEST(MonarchGeneratorTest, RowStatisticsFromTheDownProjection) {
  MonarchSpec down = gpt2DownProjection();
  MonarchSpec plain = down;
  down.rowStatistics = true;
  EXPECT_EQ(verifyMonarchSpec(down), "");
  // Two warpgroups split the output columns: two partials per row.
  EXPECT_EQ(monarchRowStatisticsPartials(down), 2);
  EXPECT_EQ(monarchRowStatisticsPartials(plain), 2);
  EXPECT_NE(monarchKernelName(down), monarchKernelName(plain));
  std::string error;
  std::string text = emitMonarchMatmul(down, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("%y: memref<8192x768xf16>, %stats_out: "
                      "memref<8192x2x2xf32>"),
            std::string::npos);
  // The chunk loop carries (mean, variance) of both fragment rows; per
  // chunk and row, 2 + 2 quad shuffles; after the loop one store per row.
  EXPECT_NE(text.find("iter_args("), std::string::npos);
  EXPECT_EQ(count(text, "gpu.shuffle xor"), 8u);
  EXPECT_EQ(count(text, ", %stats_out["), 2u);
  EXPECT_EQ(count(emitMonarchMatmul(plain, error), "gpu.shuffle"), 0u);

  // The blocked up projection cannot (its CTAs own a quarter of the
  // columns, interleaved).
  MonarchSpec up;
  up.m = 8192, up.k = 4, up.q = 192, up.p = 192;
  up.l = 4, up.s = 768, up.r = 192;
  up.blockedOutput = true;
  EXPECT_EQ(monarchRowStatisticsPartials(up), 0);
  up.rowStatistics = true;
  EXPECT_NE(verifyMonarchSpec(up).find("row statistics"), std::string::npos);
}

/// GPT-2 small's Monarch MLP as fly-gpu-monarch-kernels declares it with
/// the hidden layer on chip: the chain's up projection, and the down
/// projection with split factors.
MonarchMlpSpec gpt2MonarchMlp() {
  MonarchMlpSpec mlp{gpt2UpProjection(), gpt2DownProjection()};
  mlp.down.splitFactors = true;
  return mlp;
}

TEST(MonarchGeneratorTest, MlpWithTheHiddenLayerOnChip) {
  MonarchMlpSpec mlp = gpt2MonarchMlp();
  EXPECT_EQ(verifyMonarchMlpSpec(mlp), "");
  std::string error;
  std::string text = emitMonarchMlp(mlp, error);
  ASSERT_FALSE(text.empty()) << error;
  // One module: factor 1 of the up projection, the hidden kernel, factor 2
  // of the down projection; g' and h' (as wide as x and y) come from the
  // pool, the 3072-wide hidden layer is no buffer.
  EXPECT_EQ(count(text, "gpu.module @" + monarchMlpKernelModuleName(mlp)), 1u);
  EXPECT_EQ(count(text, "gpu.func @"), 3u);
  EXPECT_NE(text.find("_split_f1(%tma_x_ptr"), std::string::npos);
  // (The default hidden schedule: a producer warpgroup, see below.)
  EXPECT_NE(text.find("_split_hidden_ws(%tma_x_ptr"), std::string::npos);
  EXPECT_NE(text.find("_split_f2(%tma_x_ptr"), std::string::npos);
  EXPECT_EQ(count(text, "gpu.alloc () : memref<8192x768xf16>"), 2u);
  EXPECT_EQ(count(text, "8192x3072"), 0u);
  EXPECT_EQ(count(text, "gpu.launch_func"), 3u);
  // The hidden kernel: S as an inline-asm block of 12 wgmmas (K 192), the
  // first without accumulate -- completed in place for step 0, issued
  // without waiting in the loop, where a tied wait_group 4 lets acc(st-1)
  // run on -- then GELU; acc += H . w1 by nvgpu wgmmas (N 192).
  EXPECT_EQ(count(text, "fly_init, 1, 1, 0, 0;"), 2u);
  EXPECT_EQ(count(text, "fly_acc, 1, 1, 0, 0;"), 22u);
  EXPECT_EQ(count(text, "wgmma.commit_group.sync.aligned; }"), 1u);
  EXPECT_EQ(count(text, "\"wgmma.wait_group.sync.aligned 4;\""), 1u);
  EXPECT_NE(text.find("vector<64x192xf32>"), std::string::npos);
  EXPECT_NE(text.find("tanh.approx.f32"), std::string::npos);
  // The launcher: the up projection's operands, then the down projection's.
  EXPECT_NE(text.find("func.func private @" + monarchMlpLauncherName(mlp) +
                      "(%x: memref<8192x768xf16>, %w1: "
                      "memref<4x192x192xf16>, %w2: memref<4x768x192xf16>, "
                      "%bias_up: memref<3072xf16>, %w1_down: "
                      "memref<4x192x768xf16>, %w2_down: "
                      "memref<4x192x192xf16>, %bias: memref<768xf16>, %res: "
                      "memref<8192x768xf16>, %y: memref<8192x768xf16>)"),
            std::string::npos);
  EXPECT_EQ(count(emitMonarchMlp(mlp, error, {/*benchmarkRepeats=*/5}),
                  "func.func private @" + monarchMlpBenchmarkName(mlp)),
            1u);

  // A folded LayerNorm (colsum, statistics partials) and row statistics out.
  MonarchMlpSpec ln = mlp;
  ln.up.layerNormInput = true;
  ln.up.layerNormPartials = 6;
  ln.down.rowStatistics = true;
  EXPECT_EQ(verifyMonarchMlpSpec(ln), "");
  EXPECT_EQ(monarchMlpRowStatisticsPartials(ln), 2);
  text = emitMonarchMlp(ln, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_NE(text.find("%bias_up: memref<3072xf16>, %colsum: "
                      "memref<3072xf32>, %stats: memref<8192x6x2xf32>"),
            std::string::npos);
  EXPECT_NE(text.find("%stats_out: memref<8192x2x2xf32>"), std::string::npos);
  EXPECT_NE(monarchMlpKernelName(ln), monarchMlpKernelName(mlp));

  // What it does not take, each with its reason.
  MonarchMlpSpec noGelu = mlp;
  noGelu.up.gelu = false;
  EXPECT_NE(verifyMonarchMlpSpec(noGelu).find("bias and GELU"),
            std::string::npos);
  MonarchMlpSpec notSplit = mlp;
  notSplit.down.splitFactors = false;
  EXPECT_NE(verifyMonarchMlpSpec(notSplit).find("split factors"),
            std::string::npos);
  MonarchMlpSpec rows = mlp;
  rows.down.m = 4096;
  EXPECT_NE(verifyMonarchMlpSpec(rows).find("same rows"), std::string::npos);
  // Down blocks of p = 640 inputs: not 64-column chunks of each of the
  // up projection's 4 groups.
  MonarchMlpSpec narrow = mlp;
  narrow.up.s = 640, narrow.down.p = 640;
  EXPECT_NE(verifyMonarchMlpSpec(narrow).find("multiple of 256"),
            std::string::npos);
  EXPECT_EQ(emitMonarchMlp(narrow, error), "");
  EXPECT_NE(error, "");
}

/// The warp-specialised hidden kernel's protocol (emitHiddenProducer,
/// emitHiddenRelease, emitHiddenSteps), played out for every ring depth and
/// chunk count: the producer's loads in its order, each after the release
/// its empty-barrier wait names; the computing warpgroups' steps, each
/// after the loads it waits for, releasing what its S wait retired. Fails
/// on a deadlock (neither side can move) or a G buffer never loaded.
TEST(MonarchGeneratorTest, HiddenProducerProtocolCompletes) {
  for (int64_t chunks = 1; chunks <= 4; ++chunks)
    for (int64_t stages = 2; stages <= 4; ++stages)
      for (int64_t l = 1; l <= 8; ++l) {
        SCOPED_TRACE("chunks " + std::to_string(chunks) + ", stages " +
                     std::to_string(stages) + ", l " + std::to_string(l));
        int64_t t1 = chunks * l;
        enum Kind { W2, W1, G };
        struct Load {
          Kind kind;
          int64_t index;
        };
        std::vector<Load> producer = {{G, 0}};
        if (l > 1)
          producer.push_back({G, 1});
        for (int64_t i = 0; i < t1; ++i) {
          producer.push_back({W2, i});
          for (int64_t ll = 2; ll < l; ++ll)
            if (monarchHiddenGLoadStep(chunks, stages, ll) == i)
              producer.push_back({G, ll});
          if (i >= 1)
            producer.push_back({W1, i - 1});
        }
        producer.push_back({W1, t1 - 1});
        ASSERT_EQ(producer.size(), size_t(2 * t1 + l));
        std::vector<bool> loaded[3], released[3];
        for (Kind k : {W2, W1, G}) {
          loaded[k].assign(k == G ? l : t1, false);
          released[k].assign(k == G ? l : t1, false);
        }
        // The use of the same slot (buffer) before this one.
        auto gate = [&](const Load &x) {
          int64_t back = x.kind == G ? 2 : stages;
          return x.index < back || released[x.kind][x.index - back];
        };
        size_t next = 0;  // the producer's next load
        int64_t step = 0; // the computing warpgroups' next step (t1: acc)
        while (next < producer.size() || step <= t1) {
          bool moved = false;
          while (next < producer.size() && gate(producer[next])) {
            loaded[producer[next].kind][producer[next].index] = true;
            ++next, moved = true;
          }
          if (step < t1) {
            int64_t ll = step / chunks;
            if (loaded[W2][step] && loaded[G][ll] &&
                (step == 0 || loaded[W1][step - 1])) {
              released[W2][step] = true;
              if (step >= 2)
                released[W1][step - 2] = true;
              if (step % chunks == chunks - 1)
                released[G][ll] = true;
              ++step, moved = true;
            }
          } else if (step == t1 && loaded[W1][t1 - 1]) {
            ++step, moved = true; // the last acc
          }
          ASSERT_TRUE(moved) << "deadlock: producer at load " << next
                             << ", computing warpgroups at step " << step;
        }
      }
}

/// The hidden kernel's function in an emitted MLP module (its text up to
/// the next gpu.func).
std::string hiddenKernelText(const std::string &module) {
  size_t begin = module.find("_split_hidden");
  begin = module.rfind("gpu.func @", begin);
  size_t end = module.find("gpu.func @", begin + 1);
  return module.substr(begin, end - begin);
}

TEST(MonarchGeneratorTest, HiddenKernelSchedules) {
  for (MonarchHiddenSchedule s :
       {MonarchHiddenSchedule::Lockstep, MonarchHiddenSchedule::Producer,
        MonarchHiddenSchedule::PingPong})
    EXPECT_EQ(parseMonarchHiddenSchedule(monarchHiddenScheduleName(s)), s);
  EXPECT_EQ(parseMonarchHiddenSchedule("fast"), std::nullopt);
  EXPECT_EQ(monarchHiddenScheduleChoices(), "lockstep, producer or pingpong");

  MonarchMlpSpec lockstep = gpt2MonarchMlp();
  EXPECT_EQ(lockstep.hiddenSchedule, MonarchHiddenSchedule::Producer);
  lockstep.hiddenSchedule = MonarchHiddenSchedule::Lockstep;
  std::string error;
  std::string lockstepText = hiddenKernelText(emitMonarchMlp(lockstep, error));
  ASSERT_EQ(error, "");
  // Lockstep: two warpgroups, a CTA barrier per step (and the epilogue's).
  EXPECT_NE(lockstepText.find("_split_hidden(%tma_x_ptr"), std::string::npos);
  EXPECT_NE(lockstepText.find("known_block_size = array<i32: 256, 1, 1>}"),
            std::string::npos);
  EXPECT_EQ(count(lockstepText, "nvvm.setmaxregister"), 0u);
  EXPECT_GT(count(lockstepText, "gpu.barrier"), 2u);

  for (MonarchHiddenSchedule schedule :
       {MonarchHiddenSchedule::Producer, MonarchHiddenSchedule::PingPong}) {
    bool pingPong = schedule == MonarchHiddenSchedule::PingPong;
    MonarchMlpSpec mlp = lockstep;
    mlp.hiddenSchedule = schedule;
    EXPECT_EQ(verifyMonarchMlpSpec(mlp), "");
    EXPECT_NE(monarchMlpKernelName(mlp), monarchMlpKernelName(lockstep));
    std::string module = emitMonarchMlp(mlp, error);
    ASSERT_FALSE(module.empty()) << error;
    std::string text = hiddenKernelText(module);
    EXPECT_NE(text.find(pingPong ? "_split_hidden_pp(%tma_x_ptr"
                                 : "_split_hidden_ws(%tma_x_ptr"),
              std::string::npos);
    // A producer warpgroup: 384 threads, registers handed over.
    EXPECT_NE(text.find("known_block_size = array<i32: 384, 1, 1>, "
                        "nvvm.minctasm = 1 : i32, nvvm.maxnreg = 168 : i32}"),
              std::string::npos);
    EXPECT_EQ(count(text, "nvvm.setmaxregister increase 232"), 1u);
    EXPECT_EQ(count(text, "nvvm.setmaxregister decrease 40"), 1u);
    // Only the setup's CTA barrier; slots are released per warp (w2, w1
    // and G after step 0's S and after the loop's).
    EXPECT_EQ(count(text, "gpu.barrier"), 1u);
    EXPECT_EQ(count(text, "nvgpu.mbarrier.arrive %empty"), 6u);
    // The epilogue's two barriers of the 256 computing threads; ping-pong:
    // a turn taken before each issue batch (step 0's S, the loop's S and
    // acc, the last acc) and handed over after it, plus warpgroup 1's
    // first hand-over.
    EXPECT_EQ(count(text, "number_of_threads = %c256_i32"),
              pingPong ? 2u + 3u + 4u : 2u);
    EXPECT_EQ(count(text, "nvvm.barrier.arrive"), pingPong ? 4u : 0u);
    // The launch uses the kernel's block size.
    EXPECT_NE(module.find("threads in (%c384"), std::string::npos);
  }

  // One computing warpgroup (64 rows): ping-pong has no partner, so the
  // kernel runs as producer (its name says so).
  MonarchMlpSpec small = lockstep;
  small.up.m = small.down.m = 64;
  small.hiddenSchedule = MonarchHiddenSchedule::PingPong;
  std::string text = hiddenKernelText(emitMonarchMlp(small, error));
  ASSERT_EQ(error, "");
  EXPECT_NE(text.find("_split_hidden_ws(%tma_x_ptr"), std::string::npos);
  EXPECT_NE(text.find("known_block_size = array<i32: 256, 1, 1>}"),
            std::string::npos);
  EXPECT_EQ(count(text, "nvvm.setmaxregister"), 0u);
  EXPECT_EQ(count(text, "nvvm.barrier.arrive"), 0u);
}

/// fly.monarch_matmul's semantics (MonarchKernel.h) on one row, in double.
/// Factor 2 of fly.monarch_matmul on one row, in double: y[ss*l + ll] =
/// sum_rr w2[ll, ss, rr] g(ll, rr), with g read however a layout stores it.
template <typename G>
std::vector<double> factor2Row(const MonarchSpec &s,
                               const std::vector<double> &w2, G g) {
  std::vector<double> y(s.l * s.s, 0.0);
  for (int64_t ll = 0; ll < s.l; ++ll)
    for (int64_t ss = 0; ss < s.s; ++ss)
      for (int64_t rr = 0; rr < s.r; ++rr)
        y[ss * s.l + ll] += w2[(ll * s.s + ss) * s.r + rr] * g(ll, rr);
  return y;
}

std::vector<double> monarchRow(const MonarchSpec &s,
                               const std::vector<double> &x,
                               const std::vector<double> &w1,
                               const std::vector<double> &w2) {
  std::vector<double> h(s.k * s.q, 0.0);
  for (int64_t kk = 0; kk < s.k; ++kk)
    for (int64_t qq = 0; qq < s.q; ++qq)
      for (int64_t pp = 0; pp < s.p; ++pp)
        h[kk * s.q + qq] += w1[(kk * s.q + qq) * s.p + pp] * x[kk * s.p + pp];
  return factor2Row(s, w2,
                    [&](int64_t ll, int64_t rr) { return h[rr * s.l + ll]; });
}

/// w1 as the kernel of `s` reads it (monarchKernelW1Source).
std::vector<double> kernelW1(const MonarchSpec &s,
                             const std::vector<double> &w1) {
  std::vector<double> out(w1.size());
  for (int64_t kk = 0; kk < s.k; ++kk)
    for (int64_t qq = 0; qq < s.q; ++qq)
      for (int64_t pp = 0; pp < s.p; ++pp) {
        auto [sq, sp] = monarchKernelW1Source(s, qq, pp);
        out[(kk * s.q + qq) * s.p + pp] = w1[(kk * s.q + sq) * s.p + sp];
      }
  return out;
}

// The blocked chain, computed the way the two kernels index it (producer:
// CTA ll runs k GEMMs of N = q/l over w1 rows ll*(q/l).., G column
// kk*(q/l)+c, output segment ll*s; consumer: K piece e/(p/L) of block kk at
// x column piece*(n/L) + kk*(p/L)), gives the natural chain's numbers.
TEST(MonarchGeneratorTest, BlockedChainLayoutsComputeTheSameMlp) {
  MonarchSpec up; // 12 -> 12: k 2, q 4, p 6; l 2, s 6, r 4
  up.k = 2, up.q = 4, up.p = 6, up.l = 2, up.s = 6, up.r = 4;
  MonarchSpec down; // 12 -> 6: k 2, q 3, p 6; l 3, s 2, r 2
  down.k = 2, down.q = 3, down.p = 6, down.l = 3, down.s = 2, down.r = 2;
  auto fill = [](size_t count, unsigned seed) {
    std::vector<double> v(count);
    for (size_t i = 0; i < count; ++i)
      v[i] = double((i * 2654435761u + seed * 40503u) % 1000) / 500.0 - 1.0;
    return v;
  };
  std::vector<double> x = fill(up.k * up.p, 1);
  std::vector<double> w1 = fill(up.k * up.q * up.p, 2);
  std::vector<double> w2 = fill(up.l * up.s * up.r, 3);
  std::vector<double> v1 = fill(down.k * down.q * down.p, 4);
  std::vector<double> v2 = fill(down.l * down.s * down.r, 5);
  std::vector<double> expected =
      monarchRow(down, monarchRow(up, x, w1, w2), v1, v2);

  MonarchSpec bup = up, bdown = down;
  bup.blockedOutput = true;
  bdown.inputBlocks = up.l;
  std::vector<double> kw1 = kernelW1(bup, w1), kv1 = kernelW1(bdown, v1);
  int64_t per = up.q / up.l;
  std::vector<double> hidden(up.l * up.s, 0.0); // blocked order
  for (int64_t ll = 0; ll < up.l; ++ll) {
    std::vector<double> g(up.r, 0.0);
    for (int64_t kk = 0; kk < up.k; ++kk)
      for (int64_t c = 0; c < per; ++c)
        for (int64_t pp = 0; pp < up.p; ++pp)
          g[kk * per + c] +=
              kw1[(kk * up.q + ll * per + c) * up.p + pp] * x[kk * up.p + pp];
    for (int64_t ss = 0; ss < up.s; ++ss)
      for (int64_t rr = 0; rr < up.r; ++rr)
        hidden[ll * up.s + ss] += w2[(ll * up.s + ss) * up.r + rr] * g[rr];
  }
  // The consumer's factor 1 reads the blocked hidden layer; the rest is
  // natural, so feed monarchRow the logical vector it reconstructs.
  int64_t pb = down.p / bdown.inputBlocks;
  int64_t segment = down.k * down.p / bdown.inputBlocks;
  std::vector<double> h(down.k * down.q, 0.0);
  for (int64_t kk = 0; kk < down.k; ++kk)
    for (int64_t qq = 0; qq < down.q; ++qq)
      for (int64_t pp = 0; pp < down.p; ++pp)
        h[kk * down.q + qq] += kv1[(kk * down.q + qq) * down.p + pp] *
                               hidden[(pp / pb) * segment + kk * pb + pp % pb];
  std::vector<double> got = factor2Row(
      down, v2, [&](int64_t ll, int64_t rr) { return h[rr * down.l + ll]; });
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], 1e-9) << "output " << i;
  // Natural layouts: the kernel reads w1 as given.
  EXPECT_EQ(kernelW1(up, w1), w1);
}

/// `n` values uniform in [-1, 1) from `rng`.
std::vector<double> randomValues(std::mt19937 &rng, size_t n) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(n);
  for (double &e : v)
    e = u(rng);
  return v;
}

/// h' of split factor 1 for one row x: kernel column c = ll*(q/l) + i of
/// block kk (w1 rows as monarchKernelW1Source permutes them, `kw1`) is
/// stored at h' column ll*r + kk*(q/l) + i.
std::vector<double> splitFactor1Row(const MonarchSpec &s,
                                    const std::vector<double> &kw1,
                                    const std::vector<double> &x) {
  int64_t per = s.q / s.l;
  std::vector<double> hPrime(s.l * s.r, 0.0);
  for (int64_t kk = 0; kk < s.k; ++kk)
    for (int64_t c = 0; c < s.q; ++c)
      for (int64_t pp = 0; pp < s.p; ++pp)
        hPrime[(c / per) * s.r + kk * per + c % per] +=
            kw1[(kk * s.q + c) * s.p + pp] * x[kk * s.p + pp];
  return hPrime;
}

/// Split factors: the factor-1 kernel's column c = ll*(q/l) + i of block
/// kk (w1 rows as monarchKernelW1Source permutes them) is stored at h'
/// column ll*r + kk*(q/l) + i; the factor-2 kernel reads g[ll, rr] at h'
/// column ll*r + rr. In float64 that chain equals fly.monarch_matmul.
TEST(MonarchGeneratorTest, SplitFactorsIndexLikeTheFusedKernel) {
  MonarchSpec s; // 24 -> 12: k 2, q 8, p 12; l 2, s 6, r 8
  s.m = 1, s.k = 2, s.q = 8, s.p = 12, s.l = 2, s.s = 6, s.r = 8;
  s.splitFactors = true;
  std::mt19937 rng(11);
  std::vector<double> x = randomValues(rng, s.k * s.p),
                      w1 = randomValues(rng, s.k * s.q * s.p),
                      w2 = randomValues(rng, s.l * s.s * s.r);
  std::vector<double> kw1 = kernelW1(s, w1);
  EXPECT_NE(kw1, w1); // the q axis is permuted
  std::vector<double> hPrime = splitFactor1Row(s, kw1, x);
  // Factor 2 reads g[ll, rr] at h' column ll*r + rr.
  std::vector<double> got = factor2Row(
      s, w2, [&](int64_t ll, int64_t rr) { return hPrime[ll * s.r + rr]; });
  std::vector<double> expected = monarchRow(s, x, w1, w2);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], 1e-12) << "output " << i;
}

/// The Monarch MLP with the hidden layer on chip, computed the way its
/// three kernels index it (emitMonarchMlp): factor 1 of the up projection
/// stores g' like split factor 1; the hidden kernel of down block kd takes,
/// for up group ll, the hidden columns ss = kd*(p'/l) + t, adds the bias
/// read blocked (ll*s + ss), applies the activation, and multiplies by w1'
/// of the down projection (monarchKernelW1Source with split factors and a
/// blocked input) at K column ll*(p'/l) + t, storing h' like split factor
/// 1; factor 2 reads h'. In float64 that equals the plain MLP.
TEST(MonarchGeneratorTest, HiddenKernelLayoutsComputeTheSameMlp) {
  MonarchSpec up; // 12 -> 12: k 2, q 4, p 6; l 2, s 6, r 4
  up.k = 2, up.q = 4, up.p = 6, up.l = 2, up.s = 6, up.r = 4;
  MonarchSpec down; // 12 -> 6: k 2, q 4, p 6; l 2, s 3, r 4
  down.k = 2, down.q = 4, down.p = 6, down.l = 2, down.s = 3, down.r = 4;
  std::mt19937 rng(5);
  std::vector<double> x = randomValues(rng, up.k * up.p),
                      w1 = randomValues(rng, up.k * up.q * up.p),
                      w2 = randomValues(rng, up.l * up.s * up.r),
                      bias = randomValues(rng, up.l * up.s),
                      v1 = randomValues(rng, down.k * down.q * down.p),
                      v2 = randomValues(rng, down.l * down.s * down.r);
  // Any elementwise activation: the check is that each hidden value gets
  // its own bias and lands in the right down-projection column.
  auto act = [](double v) { return v + 0.5 * v * v; };
  std::vector<double> hidden = monarchRow(up, x, w1, w2);
  for (size_t j = 0; j < hidden.size(); ++j)
    hidden[j] = act(hidden[j] + bias[j]);
  std::vector<double> expected = monarchRow(down, hidden, v1, v2);

  MonarchSpec up0 = up, downH = down;
  up0.splitFactors = true;
  downH.splitFactors = true;
  downH.inputBlocks = up.l;
  std::vector<double> kw1 = kernelW1(up0, w1), kv1 = kernelW1(downH, v1);
  // The bias as fly-gpu-monarch-kernels stores it for a blocked output:
  // bias'[ll*s + ss] = bias[ss*l + ll].
  std::vector<double> blockedBias(bias.size());
  for (int64_t i = 0; i < up.l * up.s; ++i)
    blockedBias[i] = bias[(i % up.s) * up.l + i / up.s];
  // Factor 1 of the up projection: g' (blocked by ll), as split factor 1.
  std::vector<double> gPrime = splitFactor1Row(up0, kw1, x);
  // The hidden kernel, per down block kd, into h'.
  int64_t pb = down.p / up.l, perDown = down.q / down.l;
  std::vector<double> hPrime(down.l * down.r, 0.0);
  for (int64_t kd = 0; kd < down.k; ++kd)
    for (int64_t ll = 0; ll < up.l; ++ll)
      for (int64_t t = 0; t < pb; ++t) {
        int64_t ss = kd * pb + t;
        double sAcc = 0;
        for (int64_t rr = 0; rr < up.r; ++rr)
          sAcc += gPrime[ll * up.r + rr] * w2[(ll * up.s + ss) * up.r + rr];
        double h = act(sAcc + blockedBias[ll * up.s + ss]);
        for (int64_t c = 0; c < down.q; ++c)
          hPrime[(c / perDown) * down.r + kd * perDown + c % perDown] +=
              h * kv1[(kd * down.q + c) * down.p + ll * pb + t];
      }
  // Factor 2 of the down projection reads g[ll, rr] at h' column ll*r + rr.
  std::vector<double> got = factor2Row(down, v2, [&](int64_t ll, int64_t rr) {
    return hPrime[ll * down.r + rr];
  });
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], 1e-12) << "output " << i;
}

TEST(MonarchGeneratorTest, SplitFactorsEmitTwoKernels) {
  MonarchSpec down = gpt2DownProjection();
  MonarchSpec fused = down;
  down.splitFactors = true;
  EXPECT_EQ(verifyMonarchSpec(down), "");
  EXPECT_EQ(monarchKernelName(down), monarchKernelName(fused) + "_split");
  std::string error;
  std::string text = emitMonarchMatmul(down, error);
  ASSERT_FALSE(text.empty()) << error;
  std::string name = monarchKernelName(down);
  EXPECT_NE(text.find("gpu.func @" + name +
                      "_f1(%tma_x_ptr: !llvm.ptr, "
                      "%tma_w1_ptr: !llvm.ptr, %h: memref<8192x768xf16>)"),
            std::string::npos);
  EXPECT_NE(text.find("gpu.func @" + name +
                      "_f2(%tma_x_ptr: !llvm.ptr, "
                      "%tma_w2_ptr: !llvm.ptr, %bias"),
            std::string::npos);
  // Factor 1: 64 row tiles of 128 x 4 blocks, 5-deep ring of 40 KB slots;
  // factor 2: 128 CTAs; h' between them, allocated and freed by the
  // launcher around the two launches.
  EXPECT_NE(text.find("factor 1: 128-row CTAs of 256 threads x k, N=192 (5 "
                      "stages), 205824 B dynamic smem, grid 256"),
            std::string::npos)
      << text.substr(0, text.find('\n'));
  EXPECT_NE(text.find("blocks in (%c128, %c1, %c1)"), std::string::npos);
  EXPECT_EQ(count(text, "gpu.alloc () : memref<8192x768xf16>"), 1u);
  EXPECT_EQ(count(text, "gpu.dealloc %h"), 1u);
  // Factor 2's G: 12 TMA boxes of 64 x 64 (4 barriers, one per group),
  // and 12 more for the next row tile of a persistent CTA; no G stores.
  EXPECT_EQ(count(text, "to %g_dst"), 24u);
  EXPECT_EQ(count(text, "nvvm.fence.proxy"), 0u);
  // Row statistics stay with factor 2's direct stores.
  EXPECT_EQ(monarchRowStatisticsPartials(down), 2);
  // More row tiles than one per SM: 132 persistent factor-2 CTAs walk the
  // 512 row tiles (and the ring's w2 tiles count on across them).
  MonarchSpec many = down;
  many.m = 32768;
  std::string persistent = emitMonarchMatmul(many, error);
  ASSERT_FALSE(persistent.empty()) << error;
  EXPECT_NE(persistent.find("_split_f2 blocks in (%c132, %c1, %c1)"),
            std::string::npos);
  EXPECT_NE(persistent.find("// Persistent: row tiles block, block + 132"),
            std::string::npos);
  EXPECT_NE(persistent.find("scf.for %item"), std::string::npos);
  // Factor 1's plan options that cannot be met are errors, not text.
  MonarchSpec one = down;
  one.m = 33;
  MonarchEmitOptions two;
  two.factor1Warpgroups = 2;
  EXPECT_TRUE(emitMonarchMatmul(one, error, two).empty());
  EXPECT_NE(error.find("factor 1 with factor1Warpgroups=2"), std::string::npos)
      << error;

  MonarchSpec blocked = fused;
  blocked.residual = false, blocked.inputBlocks = 0;
  blocked.q = 192, blocked.p = 192, blocked.s = 768;
  blocked.blockedOutput = blocked.splitFactors = true;
  EXPECT_NE(verifyMonarchSpec(blocked).find("natural output"),
            std::string::npos);
  MonarchSpec odd = fused; // q = 64 rows do not split into l = 3 groups
  odd.k = 3, odd.q = 64, odd.p = 64, odd.l = 3, odd.s = 64, odd.r = 64;
  odd.m = 256, odd.residual = false, odd.inputBlocks = 0;
  EXPECT_EQ(verifyMonarchSpec(odd), "");
  odd.splitFactors = true;
  EXPECT_NE(verifyMonarchSpec(odd).find("split factors need q=64"),
            std::string::npos)
      << verifyMonarchSpec(odd);
}

TEST(MonarchGeneratorTest, BlockedOutputIsStoredByTma) {
  MonarchSpec fc1 = gpt2UpProjection();
  std::string error;
  std::string text = emitMonarchMatmul(fc1, error);
  ASSERT_FALSE(text.empty()) << error;
  // The kernel takes y's TMA descriptor (boxes of 64 x 64, the launcher
  // encodes it) and stores each chunk (N = 128: two boxes per warpgroup)
  // from the swizzled staging tile as one bulk group; no thread stores y.
  EXPECT_NE(text.find("%tma_w2_ptr: !llvm.ptr, %tma_y_ptr: !llvm.ptr"),
            std::string::npos);
  size_t encode = text.find("nvgpu.tma.create.descriptor %tma_y_any");
  ASSERT_NE(encode, std::string::npos);
  EXPECT_EQ(text.substr(text.find(" box[", encode), 18), " box[%c64, %c64] :")
      << text.substr(encode, 80);
  EXPECT_EQ(count(text, "nvgpu.tma.async.store"), 4u);
  EXPECT_EQ(count(text, "nvvm.cp.async.bulk.commit.group"), 1u);
  EXPECT_EQ(count(text, "nvvm.cp.async.bulk.wait_group 1 {read}"), 1u);
  EXPECT_EQ(count(text, "nvvm.cp.async.bulk.wait_group 0"), 1u);
  EXPECT_EQ(count(text, ", %y["), 0u);
  // S not a multiple of 64 (s = 72: no whole 64-column box): the threads
  // copy the staging tile out as before.
  MonarchSpec narrow = fc1;
  narrow.k = 4, narrow.q = 64, narrow.p = 64, narrow.l = 4, narrow.s = 72;
  narrow.r = 64;
  ASSERT_EQ(verifyMonarchSpec(narrow), "");
  text = emitMonarchMatmul(narrow, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_EQ(count(text, "nvgpu.tma.async.store"), 0u);
  EXPECT_EQ(text.find("%tma_y_ptr"), std::string::npos);
  EXPECT_NE(text.find(", %y["), std::string::npos);
  // Natural outputs keep their stores (from registers here).
  MonarchSpec fc2 = gpt2DownProjection();
  text = emitMonarchMatmul(fc2, error);
  ASSERT_FALSE(text.empty()) << error;
  EXPECT_EQ(count(text, "nvgpu.tma.async.store"), 0u);
  EXPECT_NE(text.find(", %y["), std::string::npos);
}

TEST(MonarchGeneratorTest, BlockedLayoutsCheckTheirShapes) {
  MonarchSpec fc1 = gpt2UpProjection();
  EXPECT_EQ(verifyMonarchSpec(fc1), "");
  std::string error;
  std::string text = emitMonarchMatmul(fc1, error);
  ASSERT_FALSE(text.empty()) << error;
  // One CTA per (128 rows, ll): 2 warpgroups sharing each weight tile,
  // 64 x 4 CTAs; 4-deep rings (the plan is the first line's comment).
  EXPECT_NE(text.find("blocks in (%c256, %c1, %c1) threads in (%c256"),
            std::string::npos);
  EXPECT_NE(text.find("(4 stages), factor-2 N=128 (4 stages)"),
            std::string::npos)
      << text.substr(0, text.find('\n'));
  EXPECT_NE(monarchKernelName(fc1).find("_bo"), std::string::npos);
  MonarchSpec odd = fc1; // q = 64 rows do not split into l = 5 groups
  odd.k = 5, odd.q = 64, odd.p = 64, odd.l = 5, odd.s = 64, odd.r = 64;
  EXPECT_NE(verifyMonarchSpec(odd).find("blocked output"), std::string::npos);
  MonarchSpec fc2;
  fc2.m = 8192, fc2.k = 4, fc2.q = 192, fc2.p = 768;
  fc2.l = 4, fc2.s = 192, fc2.r = 192;
  fc2.inputBlocks = 4;
  EXPECT_EQ(verifyMonarchSpec(fc2), "");
  fc2.inputBlocks = 8; // p/8 = 96: a K tile would straddle two pieces
  EXPECT_NE(verifyMonarchSpec(fc2).find("blocked input"), std::string::npos);
}

} // namespace

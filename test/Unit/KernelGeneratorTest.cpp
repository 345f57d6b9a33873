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
#include "fly/Conversion/FlyToGPU/MonarchKernel.h"
#include "fly/Conversion/FlyToGPU/WgmmaGemm.h"

#include <gtest/gtest.h>

#include <set>

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
  EXPECT_NE(text.find("nvgpu.mma.sync"), std::string::npos);
  EXPECT_NE(text.find("nvgpu.ldmatrix"), std::string::npos);
  EXPECT_NE(text.find("@" + attentionLauncherName(packed)), std::string::npos);
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

} // namespace

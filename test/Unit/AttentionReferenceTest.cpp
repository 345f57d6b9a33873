//===- AttentionReferenceTest.cpp - Reference attention tests ---*- C++ -*-===//
//
// Checks the attention oracles against hand-computed values and against
// identities that must hold between the variants (e.g. a window covering all
// keys turns local and Scatterbrain attention into exact attention).
//
//===----------------------------------------------------------------------===//

#include "fly/Reference/Attention.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace fly::reference;

namespace {
std::vector<float> uniformVector(size_t size, unsigned seed, float lo = -1.0f,
                                 float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(size);
  for (float &x : out)
    x = dist(gen);
  return out;
}

std::vector<float> gaussianVector(size_t size, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> out(size);
  for (float &x : out)
    x = dist(gen);
  return out;
}

/// Random q/k/v for a shape, with q and k entries in [-qkRange, qkRange].
struct Inputs {
  std::vector<float> q, k, v;
};

Inputs randomInputs(const AttentionShape &sh, unsigned seed,
                    float qkRange = 1.0f) {
  const size_t bh = static_cast<size_t>(sh.batch * sh.heads);
  return {
      uniformVector(bh * sh.queryLen * sh.headDim, seed, -qkRange, qkRange),
      uniformVector(bh * sh.keyLen * sh.headDim, seed + 1, -qkRange, qkRange),
      uniformVector(bh * sh.keyLen * sh.valueDim, seed + 2)};
}

void expectAllNear(const std::vector<double> &a, const std::vector<double> &b,
                   double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], tol) << "at flat index " << i;
}

double defaultScale(const AttentionShape &sh) {
  return 1.0 / std::sqrt(static_cast<double>(sh.headDim));
}
} // namespace

//===----------------------------------------------------------------------===//
// Exact attention
//===----------------------------------------------------------------------===//

TEST(AttentionReferenceTest, HandComputedSoftmax) {
  // One query, two keys, D = 1, scale 1: scores 0 and ln 3, so the weights
  // are 1/4 and 3/4 and out = 3/4 * 4 = 3.
  AttentionShape sh{1, 1, 1, 2, 1, 1};
  std::vector<double> out =
      attention({1.0f}, {0.0f, static_cast<float>(std::log(3.0))}, {0.0f, 4.0f},
                sh, 1.0, /*causal=*/false);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0], 3.0, 1e-6);
}

TEST(AttentionReferenceTest, ZeroMaskEqualsNoMask) {
  AttentionShape sh{2, 3, 4, 5, 8, 3};
  Inputs in = randomInputs(sh, 1);
  const double scale = defaultScale(sh);
  std::vector<float> zeros(2 * 3 * 4 * 5, 0.0f);
  for (bool causal : {false, true}) {
    std::vector<double> ref = attention(in.q, in.k, in.v, sh, scale, causal);
    expectAllNear(
        attention(in.q, in.k, in.v, sh, scale, causal, &zeros, {2, 3, 4, 5}),
        ref, 1e-12);
    // A rank-0 mask adds the same constant to every score: no effect.
    std::vector<float> constant = {2.5f};
    expectAllNear(attention(in.q, in.k, in.v, sh, scale, causal, &constant, {}),
                  ref, 1e-12);
  }
}

TEST(AttentionReferenceTest, BroadcastMaskMatchesExpandedMask) {
  const int64_t B = 2, H = 3, T = 4, S = 5;
  AttentionShape sh{B, H, T, S, 4, 2};
  Inputs in = randomInputs(sh, 7);
  const double scale = defaultScale(sh);
  const float ninf = -std::numeric_limits<float>::infinity();

  // [T][S] mask with a -inf entry per row and finite biases elsewhere.
  std::vector<float> small = uniformVector(T * S, 11, -2.0f, 2.0f);
  for (int64_t t = 0; t < T; ++t)
    small[t * S + (t + 1) % S] = ninf;
  std::vector<float> expanded;
  for (int64_t bh = 0; bh < B * H; ++bh)
    expanded.insert(expanded.end(), small.begin(), small.end());

  // [H][1][S] mask, expanded along B and T.
  std::vector<float> perHead = uniformVector(H * S, 12, -2.0f, 2.0f);
  std::vector<float> perHeadExpanded;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t)
        perHeadExpanded.insert(perHeadExpanded.end(), perHead.begin() + h * S,
                               perHead.begin() + (h + 1) * S);

  for (bool causal : {false, true}) {
    std::vector<double> viaSmall =
        attention(in.q, in.k, in.v, sh, scale, causal, &small, {T, S});
    std::vector<double> viaFull =
        attention(in.q, in.k, in.v, sh, scale, causal, &expanded, {B, H, T, S});
    expectAllNear(viaSmall, viaFull, 1e-12);
    // The mask must actually change the result, or the check is vacuous.
    std::vector<double> unmasked =
        attention(in.q, in.k, in.v, sh, scale, causal);
    double maxDiff = 0.0;
    for (size_t i = 0; i < unmasked.size(); ++i)
      maxDiff = std::max(maxDiff, std::fabs(unmasked[i] - viaSmall[i]));
    EXPECT_GT(maxDiff, 1e-3);

    expectAllNear(
        attention(in.q, in.k, in.v, sh, scale, causal, &perHead, {H, 1, S}),
        attention(in.q, in.k, in.v, sh, scale, causal, &perHeadExpanded,
                  {B, H, T, S}),
        1e-12);
  }
}

TEST(AttentionReferenceTest, CausalIsBottomRightAligned) {
  // T = 1, S = 4: the single query is the last position and sees all keys.
  AttentionShape one{1, 2, 1, 4, 3, 2};
  Inputs a = randomInputs(one, 21);
  expectAllNear(attention(a.q, a.k, a.v, one, 0.7, /*causal=*/true),
                attention(a.q, a.k, a.v, one, 0.7, /*causal=*/false), 1e-12);

  // T = 2, S = 4: query i sees keys j <= i + 2. Express that as an explicit
  // -inf mask on a non-causal call.
  AttentionShape two{1, 2, 2, 4, 3, 2};
  Inputs b = randomInputs(two, 22);
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> mask = {0, 0, 0, ninf, //
                             0, 0, 0, 0};
  expectAllNear(
      attention(b.q, b.k, b.v, two, 0.7, /*causal=*/true),
      attention(b.q, b.k, b.v, two, 0.7, /*causal=*/false, &mask, {2, 4}),
      1e-12);
}

//===----------------------------------------------------------------------===//
// Local attention
//===----------------------------------------------------------------------===//

TEST(LocalAttentionReferenceTest, WindowShapesWithUniformScores) {
  // With q = 0 every score is 0, so the output is the plain mean of v over
  // the allowed window; that pins down the window bounds exactly.
  const int64_t T = 6;
  AttentionShape sh{1, 1, T, T, 2, 1};
  std::vector<float> q(T * 2, 0.0f);
  std::vector<float> k = uniformVector(T * 2, 31);
  std::vector<float> v = {1, 2, 4, 8, 16, 32};
  auto mean = [&](int64_t lo, int64_t hi) { // over [lo, hi] clipped
    double sum = 0.0;
    int count = 0;
    for (int64_t j = std::max<int64_t>(lo, 0); j <= std::min(hi, T - 1); ++j) {
      sum += v[j];
      ++count;
    }
    return sum / count;
  };
  struct Case {
    int64_t window;
    bool causal;
    int64_t before, after; // allowed j in [i - before, i + after]
  };
  // Non-causal: [i - w/2, i - w/2 + w). Causal: (i - w, i].
  for (Case c :
       {Case{1, false, 0, 0}, Case{2, false, 1, 0}, Case{3, false, 1, 1},
        Case{4, false, 2, 1}, Case{1, true, 0, 0}, Case{2, true, 1, 0},
        Case{3, true, 2, 0}}) {
    std::vector<double> out =
        localAttention(q, k, v, sh, 1.0, c.window, c.causal);
    for (int64_t i = 0; i < T; ++i)
      EXPECT_NEAR(out[i], mean(i - c.before, i + c.after), 1e-12)
          << "window " << c.window << " causal " << c.causal << " i " << i;
  }
}

TEST(LocalAttentionReferenceTest, WideWindowEqualsFullAttention) {
  AttentionShape sh{2, 2, 7, 7, 4, 3};
  Inputs in = randomInputs(sh, 41);
  const double scale = defaultScale(sh);
  expectAllNear(localAttention(in.q, in.k, in.v, sh, scale, 2 * 7, false),
                attention(in.q, in.k, in.v, sh, scale, false), 1e-12);
  expectAllNear(localAttention(in.q, in.k, in.v, sh, scale, 7, true),
                attention(in.q, in.k, in.v, sh, scale, true), 1e-12);
}

TEST(LocalAttentionReferenceTest, CausalWindowOneReturnsValues) {
  AttentionShape sh{2, 2, 5, 5, 3, 4};
  Inputs in = randomInputs(sh, 51);
  std::vector<double> out = localAttention(in.q, in.k, in.v, sh, 0.5, 1, true);
  ASSERT_EQ(out.size(), in.v.size());
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_NEAR(out[i], in.v[i], 1e-12);
}

//===----------------------------------------------------------------------===//
// Performer and Scatterbrain
//===----------------------------------------------------------------------===//

TEST(PerformerAttentionReferenceTest, SingleFeatureHandComputed) {
  // D = 1, m = 1, omega = 1, scale = 1, q = 0: phi(q) = 1 and
  // phi(k) = exp(k - k^2/2), so with k = (0, 1), v = (0, 1):
  // out = e^0.5 / (1 + e^0.5).
  AttentionShape sh{1, 1, 1, 2, 1, 1};
  std::vector<double> out = performerAttention(
      {0.0f}, {0.0f, 1.0f}, {0.0f, 1.0f}, {1.0f}, 1, sh, 1.0, false);
  const double e = std::exp(0.5);
  EXPECT_NEAR(out[0], e / (1.0 + e), 1e-12);

  // scale = 4 enters as x~ = 2x: k = (0, 0.5) gives k~ = (0, 1) and hence the
  // same output as above.
  std::vector<double> scaled = performerAttention(
      {0.0f}, {0.0f, 0.5f}, {0.0f, 1.0f}, {1.0f}, 1, sh, 4.0, false);
  EXPECT_NEAR(scaled[0], e / (1.0 + e), 1e-12);
}

TEST(PerformerAttentionReferenceTest, ManyFeaturesApproximateExact) {
  // FAVOR+ is an unbiased estimator of exp(q~.k~). With m = 8192 Gaussian
  // features and q, k entries in [-0.3, 0.3] the observed error is ~2e-3 on
  // outputs in [-1, 1]; 1e-2 leaves margin yet still catches e.g. a missing
  // sqrt(scale) in the feature map (error ~2e-2).
  const double tol = 1e-2;
  AttentionShape sh{1, 2, 6, 6, 4, 3};
  Inputs in = randomInputs(sh, 61, 0.3f);
  const int64_t m = 8192;
  std::vector<float> proj = gaussianVector(m * sh.headDim, 62);
  const double scale = defaultScale(sh);
  for (bool causal : {false, true})
    expectAllNear(
        performerAttention(in.q, in.k, in.v, proj, m, sh, scale, causal),
        attention(in.q, in.k, in.v, sh, scale, causal), tol);
}

TEST(PerformerAttentionReferenceTest, CausalIsBottomRightAligned) {
  // T = 1 < S = 4: the causal query sees every key.
  AttentionShape sh{1, 1, 1, 4, 2, 2};
  Inputs in = randomInputs(sh, 65);
  std::vector<float> proj = gaussianVector(16 * 2, 66);
  expectAllNear(performerAttention(in.q, in.k, in.v, proj, 16, sh, 0.5, true),
                performerAttention(in.q, in.k, in.v, proj, 16, sh, 0.5, false),
                1e-12);
}

TEST(ScatterbrainAttentionReferenceTest, HandComputedWindowOne) {
  // T = S = 2, D = 1, m = 1, omega = 1, scale = 1, non-causal window 1, so
  // W(i) = {i}: the diagonal is exact, the off-diagonal uses the feature map.
  // q = (0, 1), k = (0, 1), v = (0, 1); phi(0) = 1, phi(1) = e^0.5.
  //   out_0 = (e_00*0 + f_01*1) / (e_00 + f_01) = e^0.5 / (1 + e^0.5)
  //   out_1 = (f_10*0 + e_11*1) / (f_10 + e_11) = e / (e^0.5 + e)
  AttentionShape sh{1, 1, 2, 2, 1, 1};
  std::vector<double> out = scatterbrainAttention(
      {0.0f, 1.0f}, {0.0f, 1.0f}, {0.0f, 1.0f}, {1.0f}, 1, sh, 1.0, 1, false);
  const double h = std::exp(0.5), e = std::exp(1.0);
  EXPECT_NEAR(out[0], h / (1.0 + h), 1e-12);
  EXPECT_NEAR(out[1], e / (h + e), 1e-12);
}

TEST(ScatterbrainAttentionReferenceTest, FullWindowEqualsExactAttention) {
  // Inside the window the estimate cancels: (e - f) + f = e. With a window
  // covering every allowed key the result is exact attention, for any
  // projection, even a poor one with few features.
  AttentionShape sh{2, 2, 7, 7, 4, 3};
  Inputs in = randomInputs(sh, 71);
  std::vector<float> proj = gaussianVector(5 * sh.headDim, 72);
  const double scale = defaultScale(sh);
  expectAllNear(
      scatterbrainAttention(in.q, in.k, in.v, proj, 5, sh, scale, 2 * 7, false),
      attention(in.q, in.k, in.v, sh, scale, false), 1e-9);
  expectAllNear(
      scatterbrainAttention(in.q, in.k, in.v, proj, 5, sh, scale, 7, true),
      attention(in.q, in.k, in.v, sh, scale, true), 1e-9);
}

TEST(ScatterbrainAttentionReferenceTest, ManyFeaturesApproximateExact) {
  // With a small window the off-window part relies on the feature map; with
  // many features it must approach exact attention (same tolerance reasoning
  // as the Performer test; observed error ~2e-3).
  AttentionShape sh{1, 1, 6, 6, 4, 2};
  Inputs in = randomInputs(sh, 81, 0.3f);
  const int64_t m = 8192;
  std::vector<float> proj = gaussianVector(m * sh.headDim, 82);
  const double scale = defaultScale(sh);
  for (bool causal : {false, true})
    expectAllNear(
        scatterbrainAttention(in.q, in.k, in.v, proj, m, sh, scale, 2, causal),
        attention(in.q, in.k, in.v, sh, scale, causal), 0.03);
}

//===----------------------------------------------------------------------===//
// Cross-variant invariants
//===----------------------------------------------------------------------===//

TEST(AttentionReferenceTest, ConstantValuesGiveConstantOutput) {
  // Every variant normalises its weights, so v = 1 must give out = 1 (for
  // Scatterbrain this holds even though e - f may be negative).
  AttentionShape sh{2, 2, 5, 5, 3, 2};
  Inputs in = randomInputs(sh, 91);
  std::vector<float> ones(in.v.size(), 1.0f);
  std::vector<float> proj = gaussianVector(7 * sh.headDim, 92);
  const double scale = defaultScale(sh);
  auto expectOnes = [](const std::vector<double> &out, const char *what) {
    for (double value : out)
      EXPECT_NEAR(value, 1.0, 1e-12) << what;
  };
  for (bool causal : {false, true}) {
    expectOnes(attention(in.q, in.k, ones, sh, scale, causal), "attention");
    for (int64_t window : {1, 2, 3})
      expectOnes(localAttention(in.q, in.k, ones, sh, scale, window, causal),
                 "local");
    expectOnes(performerAttention(in.q, in.k, ones, proj, 7, sh, scale, causal),
               "performer");
    for (int64_t window : {1, 2, 3})
      expectOnes(scatterbrainAttention(in.q, in.k, ones, proj, 7, sh, scale,
                                       window, causal),
                 "scatterbrain");
  }
  // Also with T < S for the variants that allow it.
  AttentionShape rect{1, 2, 3, 5, 3, 2};
  Inputs r = randomInputs(rect, 93);
  std::vector<float> rectOnes(r.v.size(), 1.0f);
  for (bool causal : {false, true}) {
    expectOnes(attention(r.q, r.k, rectOnes, rect, 0.5, causal), "attention");
    expectOnes(
        performerAttention(r.q, r.k, rectOnes, proj, 7, rect, 0.5, causal),
        "performer");
  }
}

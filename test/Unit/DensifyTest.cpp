//===- DensifyTest.cpp - Tests for reference densification ------*- C++ -*-===//
//
// The expectations here come from hand-written matrices, closed forms worked
// out from the op definitions, or a different algorithm (stage-by-stage
// evaluation) rather than from the dense-matrix composition under test.
//
//===----------------------------------------------------------------------===//

#include "fly/Reference/Densify.h"

#include "gtest/gtest.h"

#include <random>
#include <set>

using namespace fly::reference;

namespace {
constexpr double kTol = 1e-12;

std::vector<float> randomVector(size_t size, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> out(size);
  for (float &x : out)
    x = dist(gen);
  return out;
}

/// Expects w to equal the row-major `expected` of the same shape.
void expectMatrix(const DenseMatrix &w, int64_t rows, int64_t cols,
                  const std::vector<double> &expected) {
  ASSERT_EQ(w.rows, rows);
  ASSERT_EQ(w.cols, cols);
  ASSERT_EQ(static_cast<int64_t>(expected.size()), rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      EXPECT_NEAR(w(r, c), expected[r * cols + c], kTol)
          << "at (" << r << ", " << c << ")";
}

/// Twiddles that make every butterfly factor the identity.
std::vector<float> identityTwiddles(int64_t n, int64_t levels) {
  std::vector<float> tw;
  for (int64_t i = 0; i < levels * n / 2; ++i)
    tw.insert(tw.end(), {1.0f, 0.0f, 0.0f, 1.0f});
  return tw;
}
} // namespace

TEST(DenseMatrixTest, ApplyDenseHandExample) {
  DenseMatrix w(2, 3);
  w.data = {1, 2, 3, 4, 5, 6};
  // Two batch rows: x0 = (1, 0, -1), x1 = (2, 1, 0).
  std::vector<double> y = applyDense(w, {1, 0, -1, 2, 1, 0}, 2);
  ASSERT_EQ(y.size(), 4u);
  EXPECT_DOUBLE_EQ(y[0], -2.0);
  EXPECT_DOUBLE_EQ(y[1], -2.0);
  EXPECT_DOUBLE_EQ(y[2], 4.0);
  EXPECT_DOUBLE_EQ(y[3], 13.0);
}

//===----------------------------------------------------------------------===//
// Butterfly
//===----------------------------------------------------------------------===//

TEST(DensifyButterflyTest, IdentityTwiddlesGiveIdentity) {
  for (int64_t levels : {0, 1, 3}) {
    const int64_t n = int64_t{1} << levels;
    DenseMatrix w = densifyButterfly(identityTwiddles(n, levels), n);
    std::vector<double> expected(n * n, 0.0);
    for (int64_t i = 0; i < n; ++i)
      expected[i * n + i] = 1.0;
    expectMatrix(w, n, n, expected);
  }
}

TEST(DensifyButterflyTest, FirstFactorOnlyHandWritten) {
  // Factor 0 (stride 1) pairs (0,1) and (2,3); factor 1 is the identity.
  std::vector<float> tw = {1, 2, 3, 4, 5, 6, 7, 8,  // factor 0
                           1, 0, 0, 1, 1, 0, 0, 1}; // factor 1
  expectMatrix(densifyButterfly(tw, 4), 4, 4,
               {1, 2, 0, 0, //
                3, 4, 0, 0, //
                0, 0, 5, 6, //
                0, 0, 7, 8});
}

TEST(DensifyButterflyTest, SecondFactorOnlyHandWritten) {
  // Factor 1 (stride 2) pairs (0,2) for t = 0 and (1,3) for t = 1.
  std::vector<float> tw = {1, 0, 0, 1, 1, 0, 0, 1,  // factor 0
                           1, 2, 3, 4, 5, 6, 7, 8}; // factor 1
  expectMatrix(densifyButterfly(tw, 4), 4, 4,
               {1, 0, 2, 0, //
                0, 5, 0, 6, //
                3, 0, 4, 0, //
                0, 7, 0, 8});
}

TEST(DensifyButterflyTest, FactorOrderHandWritten) {
  // F0 adds x1 into x0; F1 then swaps entries 0 and 2. So y = (x2, x1, x0+x1,
  // x3). Applying the factors in the opposite order would give y0 = x1 + x2.
  std::vector<float> tw = {1, 1, 0, 1, 1, 0, 0, 1,  // factor 0
                           0, 1, 1, 0, 1, 0, 0, 1}; // factor 1
  expectMatrix(densifyButterfly(tw, 4), 4, 4,
               {0, 0, 1, 0, //
                0, 1, 0, 0, //
                1, 1, 0, 0, //
                0, 0, 0, 1});
}

TEST(DensifyButterflyTest, MatchesStageByStageEvaluation) {
  const int64_t n = 16, levels = 4, batch = 3;
  std::vector<float> tw = randomVector(levels * n / 2 * 4, 1);
  std::vector<float> x = randomVector(batch * n, 2);
  std::vector<double> y = applyDense(densifyButterfly(tw, n), x, batch);

  // The fast algorithm: in-place 2x2 mixes, one stage at a time.
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> cur(x.begin() + b * n, x.begin() + (b + 1) * n);
    for (int64_t i = 0; i < levels; ++i) {
      const int64_t half = int64_t{1} << i;
      for (int64_t start = 0; start < n; start += 2 * half)
        for (int64_t o = 0; o < half; ++o) {
          const int64_t t = start / 2 + o; // pair index
          const float *m = &tw[(i * n / 2 + t) * 4];
          const double lo = cur[start + o], hi = cur[start + o + half];
          cur[start + o] = m[0] * lo + m[1] * hi;
          cur[start + o + half] = m[2] * lo + m[3] * hi;
        }
    }
    for (int64_t j = 0; j < n; ++j)
      EXPECT_NEAR(y[b * n + j], cur[j], 1e-9) << "batch " << b << " j " << j;
  }
}

//===----------------------------------------------------------------------===//
// Monarch
//===----------------------------------------------------------------------===//

namespace {
/// Direct evaluation of the three-line Monarch definition on one vector.
std::vector<double> monarchDirect(const std::vector<float> &w1, int64_t k,
                                  int64_t q, int64_t p,
                                  const std::vector<float> &w2, int64_t l,
                                  int64_t s, int64_t r,
                                  const std::vector<float> &x) {
  std::vector<double> h(k * q, 0.0);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t qq = 0; qq < q; ++qq)
      for (int64_t pp = 0; pp < p; ++pp)
        h[kk * q + qq] += w1[(kk * q + qq) * p + pp] * double(x[kk * p + pp]);
  std::vector<double> g(l * r);
  for (int64_t ll = 0; ll < l; ++ll)
    for (int64_t rr = 0; rr < r; ++rr)
      g[ll * r + rr] = h[rr * l + ll];
  std::vector<double> y(l * s, 0.0);
  for (int64_t ll = 0; ll < l; ++ll)
    for (int64_t ss = 0; ss < s; ++ss)
      for (int64_t rr = 0; rr < r; ++rr)
        y[ss * l + ll] += w2[(ll * s + ss) * r + rr] * g[ll * r + rr];
  return y;
}
} // namespace

TEST(DensifyMonarchTest, SingleBlockIsPlainProduct) {
  // k = l = 1: h = w1[0] x, g = h, y = w2[0] g, so W = w2[0] * w1[0] with
  // w2[0] [s][r] and w1[0] [q][p] (r = q) taken as stored, no transposes.
  const int64_t q = 3, p = 4, s = 2, r = 3;
  std::vector<float> w1 = {1, 2, 0, -1, //
                           0, 1, 1, 0,  //
                           2, 0, 0, 3};
  std::vector<float> w2 = {1,  0, 2, //
                           -1, 3, 0};
  // Hand-computed w2[0] * w1[0].
  expectMatrix(densifyMonarch(w1, 1, q, p, w2, 1, s, r), s, p,
               {5, 2, 0, 5, //
                -1, 1, 3, 1});
}

TEST(DensifyMonarchTest, MatchesDirectFormulaOnRandomInputs) {
  const int64_t k = 4, q = 3, p = 2, l = 6, s = 5, r = 2; // l*r == k*q
  std::vector<float> w1 = randomVector(k * q * p, 3);
  std::vector<float> w2 = randomVector(l * s * r, 4);
  DenseMatrix w = densifyMonarch(w1, k, q, p, w2, l, s, r);
  ASSERT_EQ(w.rows, l * s);
  ASSERT_EQ(w.cols, k * p);
  for (unsigned trial = 0; trial < 3; ++trial) {
    std::vector<float> x = randomVector(k * p, 10 + trial);
    std::vector<double> expected = monarchDirect(w1, k, q, p, w2, l, s, r, x);
    std::vector<double> y = applyDense(w, x, 1);
    for (int64_t i = 0; i < l * s; ++i)
      EXPECT_NEAR(y[i], expected[i], 1e-9) << "trial " << trial << " i " << i;
  }
}

TEST(DensifyMonarchTest, RectangularClosedForm) {
  // k=2, q=3, p=2, l=3, s=2, r=2. The permutation g[ll][rr] = h[rr*3+ll]
  // pairs h index kk*3+qq with (ll, rr) = (qq, kk), so
  //   W[ss*3+ll][kk*2+pp] = w2[ll][ss][kk] * w1[kk][ll][pp].
  const int64_t k = 2, q = 3, p = 2, l = 3, s = 2, r = 2;
  std::vector<float> w1 = randomVector(k * q * p, 5);
  std::vector<float> w2 = randomVector(l * s * r, 6);
  DenseMatrix w = densifyMonarch(w1, k, q, p, w2, l, s, r);
  ASSERT_EQ(w.rows, 6);
  ASSERT_EQ(w.cols, 4);
  for (int64_t ss = 0; ss < s; ++ss)
    for (int64_t ll = 0; ll < l; ++ll)
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t pp = 0; pp < p; ++pp) {
          const double expected = double(w2[(ll * s + ss) * r + kk]) *
                                  double(w1[(kk * q + ll) * p + pp]);
          EXPECT_NEAR(w(ss * l + ll, kk * p + pp), expected, kTol);
        }
  std::vector<float> x = {0.5f, -1.0f, 2.0f, 0.25f};
  std::vector<double> expected = monarchDirect(w1, k, q, p, w2, l, s, r, x);
  std::vector<double> y = applyDense(w, x, 1);
  for (int64_t i = 0; i < l * s; ++i)
    EXPECT_NEAR(y[i], expected[i], 1e-9);
}

//===----------------------------------------------------------------------===//
// LowRank and BlockSparse
//===----------------------------------------------------------------------===//

TEST(DensifyLowRankTest, TwoByTwoHandExample) {
  // u = [[1,2],[3,4]], v = [[5,6],[7,8]]; W = v u.
  expectMatrix(densifyLowRank({1, 2, 3, 4}, 2, 2, {5, 6, 7, 8}, 2), 2, 2,
               {23, 34, 31, 46});
}

TEST(DensifyLowRankTest, RankOneRectangular) {
  // u = [1 2 3] (r=1, n=3), v = [4; 5] (m=2): W = outer(v, u).
  expectMatrix(densifyLowRank({1, 2, 3}, 1, 3, {4, 5}, 2), 2, 3,
               {4, 8, 12, 5, 10, 15});
}

TEST(DensifyBlockSparseTest, HandAssembled) {
  // 4x6 matrix in 2x2 blocks; the third block repeats coordinate (1, 0) and
  // must accumulate onto the second one.
  std::vector<float> blocks = {1, 2, 3, 4, //
                               5, 6, 7, 8, //
                               1, 1, 1, 1};
  expectMatrix(densifyBlockSparse(blocks, 2, {0, 1, 1}, {2, 0, 0}, 4, 6), 4, 6,
               {0, 0, 0, 0, 1, 2, //
                0, 0, 0, 0, 3, 4, //
                6, 7, 0, 0, 0, 0, //
                8, 9, 0, 0, 0, 0});
}

//===----------------------------------------------------------------------===//
// Sketch (SS1)
//===----------------------------------------------------------------------===//

TEST(DensifySketchTest, NoReductionIsTranspose) {
  const int64_t K = 6, N = 4;
  std::vector<float> w = randomVector(K * N, 7);
  SketchParams p;
  p.blockK = 3;
  p.blockN = 2;
  p.vec = 2;
  // Seeds must not matter when R == 1.
  p.seeds[0] = 3;
  p.seeds[1] = 1;
  p.seeds[2] = 4;
  p.seeds[3] = 1;
  DenseMatrix dense = densifySketch(w, K, N, p);
  ASSERT_EQ(dense.rows, N);
  ASSERT_EQ(dense.cols, K);
  for (int64_t col = 0; col < N; ++col)
    for (int64_t kk = 0; kk < K; ++kk)
      EXPECT_DOUBLE_EQ(dense(col, kk), w[kk * N + col]);
}

namespace {
/// Checks densifySketch against a hand-derived table: sel[nb][jj] lists the
/// two x indices (R = 2) summed into x~_nb[jj]. Uses a random w so that every
/// (column, jj) pair contributes distinguishably.
void checkSketchTable(int64_t K, int64_t N, const SketchParams &p,
                      const std::vector<std::vector<std::set<int64_t>>> &sel) {
  const int64_t reducedK = K / p.reduction;
  std::vector<float> w = randomVector(reducedK * N, 8);
  DenseMatrix dense = densifySketch(w, K, N, p);
  ASSERT_EQ(dense.rows, N);
  ASSERT_EQ(dense.cols, K);
  for (int64_t col = 0; col < N; ++col) {
    const int64_t nb = col / p.blockN;
    for (int64_t kk = 0; kk < K; ++kk) {
      double expected = 0.0;
      for (int64_t jj = 0; jj < reducedK; ++jj)
        if (sel[nb][jj].count(kk))
          expected += w[jj * N + col];
      EXPECT_NEAR(dense(col, kk), expected, kTol)
          << "col " << col << " x index " << kk;
    }
  }
}
} // namespace

TEST(DensifySketchTest, HandComputedRotationsUnitVec) {
  // K=8, R=2, BK=2, N=4, BN=2, V=1, seeds r0=1, r1=1, r2=1, r3=0:
  // shift = nb + (kb+1) + (c+1), taken mod 2.
  //   nb=0,kb=0: c0 -> 0, c1 -> 1: x~[j]   = x[j]   + x[2+(j+1)%2]
  //   nb=0,kb=1: c0 -> 1, c1 -> 0: x~[2+j] = x[4+(j+1)%2] + x[6+j]
  //   nb=1,kb=0: c0 -> 1, c1 -> 0: x~[j]   = x[(j+1)%2] + x[2+j]
  //   nb=1,kb=1: c0 -> 0, c1 -> 1: x~[2+j] = x[4+j] + x[6+(j+1)%2]
  SketchParams p;
  p.reduction = 2;
  p.blockK = 2;
  p.blockN = 2;
  p.vec = 1;
  p.seeds[0] = 1;
  p.seeds[1] = 1;
  p.seeds[2] = 1;
  p.seeds[3] = 0;
  checkSketchTable(
      8, 4, p,
      {{{0, 3}, {1, 2}, {5, 6}, {4, 7}}, {{1, 2}, {0, 3}, {4, 7}, {5, 6}}});

  // With w = identity (K/R = N = 4) each output selects one x~ entry:
  // y0 = x0+x3, y1 = x1+x2, y2 = x4+x7, y3 = x5+x6.
  std::vector<float> eye(16, 0.0f);
  for (int i = 0; i < 4; ++i)
    eye[i * 4 + i] = 1.0f;
  expectMatrix(densifySketch(eye, 8, 4, p), 4, 8, {1, 0, 0, 1, 0, 0, 0, 0, //
                                                   0, 1, 1, 0, 0, 0, 0, 0, //
                                                   0, 0, 0, 0, 1, 0, 0, 1, //
                                                   0, 0, 0, 0, 0, 1, 1, 0});
}

TEST(DensifySketchTest, HandComputedRotationsWithVec) {
  // K=8, R=2, BK=4, N=2, BN=1, V=2, seeds r0=1, r1=0, r2=1, r3=1:
  // shift = (1 + nb + (c+1)) * 2 mod 4.
  //   nb=0: c0 -> 0, c1 -> 2: x~[j] = x[j] + x[4+(j+2)%4]
  //   nb=1: c0 -> 2, c1 -> 0: x~[j] = x[(j+2)%4] + x[4+j]
  SketchParams p;
  p.reduction = 2;
  p.blockK = 4;
  p.blockN = 1;
  p.vec = 2;
  p.seeds[0] = 1;
  p.seeds[1] = 0;
  p.seeds[2] = 1;
  p.seeds[3] = 1;
  checkSketchTable(
      8, 2, p,
      {{{0, 6}, {1, 7}, {2, 4}, {3, 5}}, {{2, 4}, {3, 5}, {0, 6}, {1, 7}}});
}

TEST(DensifySketchTest, EachReducedRowPicksOneEntryPerSubBlock) {
  // K=12, R=3, BK=2 (two reduced blocks), N=4, BN=2, arbitrary seeds.
  const int64_t K = 12, N = 4, R = 3, BK = 2, reducedK = K / R;
  SketchParams p;
  p.reduction = R;
  p.blockK = BK;
  p.blockN = 2;
  p.vec = 3;
  p.seeds[0] = 2;
  p.seeds[1] = 1;
  p.seeds[2] = 3;
  p.seeds[3] = 5;
  // A w with a single row jj of ones exposes x~[jj] in every output: it must
  // be a sum of exactly R entries of x, one from each of the R sub-blocks of
  // width BK of reduced block jj / BK, each with coefficient 1.
  for (int64_t jj = 0; jj < reducedK; ++jj) {
    std::vector<float> w(reducedK * N, 0.0f);
    for (int64_t col = 0; col < N; ++col)
      w[jj * N + col] = 1.0f;
    DenseMatrix dense = densifySketch(w, K, N, p);
    const int64_t kb = jj / BK;
    for (int64_t col = 0; col < N; ++col) {
      int64_t nonzeros = 0;
      for (int64_t c = 0; c < R; ++c) {
        int64_t inSubBlock = 0;
        for (int64_t e = 0; e < BK; ++e) {
          const double value = dense(col, (kb * R + c) * BK + e);
          if (value != 0.0) {
            EXPECT_DOUBLE_EQ(value, 1.0);
            ++inSubBlock;
          }
        }
        EXPECT_EQ(inSubBlock, 1) << "jj " << jj << " col " << col << " c " << c;
        nonzeros += inSubBlock;
      }
      int64_t total = 0;
      for (int64_t kk = 0; kk < K; ++kk)
        total += dense(col, kk) != 0.0;
      EXPECT_EQ(nonzeros, R);
      EXPECT_EQ(total, R) << "entries outside reduced block " << kb;
    }
  }

  // With w all ones each sub-block rotation is a permutation summed over all
  // j, so every entry of W is exactly 1.
  DenseMatrix ones =
      densifySketch(std::vector<float>(reducedK * N, 1.0f), K, N, p);
  for (double value : ones.data)
    EXPECT_DOUBLE_EQ(value, 1.0);
}

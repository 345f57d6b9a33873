//===- ProjectionTest.cpp - Tests for structure projections -----*- C++ -*-===//
//
// Projected factors are always densified with the independent reference
// (fly/Reference/Densify.h), never with the code under test. Optimality is
// checked against Eckart-Young bounds whose singular values come from a
// different algorithm (eigenvalues of a Gram matrix) than the projection's
// SVD.
//
//===----------------------------------------------------------------------===//

#include "fly/Structure/Projection.h"

#include "fly/Reference/Densify.h"

#include "gtest/gtest.h"

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

using namespace fly::structure;
using fly::reference::DenseMatrix;

namespace {
/// Exact recovery tolerance: the inputs are float, so only float rounding of
/// W and of the factors separates the projection from W.
constexpr double kExactTol = 1e-6;
/// Tolerance when comparing a relative error with an Eckart-Young bound.
constexpr double kBoundTol = 1e-5;

std::vector<float> gaussianVector(size_t size, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> out(size);
  for (float &x : out)
    x = dist(gen);
  return out;
}

/// The top-left [rows][cols] of `m` rounded to float: the dense W a pass
/// would hand to the projection.
std::vector<float> cropToFloat(const DenseMatrix &m, int64_t rows,
                               int64_t cols) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[static_cast<size_t>(i * cols + j)] = static_cast<float>(m(i, j));
  return out;
}

/// The top-left [rows][cols] of `m` in double, for relativeFrobeniusError.
std::vector<double> crop(const DenseMatrix &m, int64_t rows, int64_t cols) {
  std::vector<double> out(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[static_cast<size_t>(i * cols + j)] = m(i, j);
  return out;
}

DenseMatrix densify(const MonarchFactors &f) {
  return fly::reference::densifyMonarch(f.w1, f.k, f.q, f.p, f.w2, f.l, f.s,
                                        f.r);
}

DenseMatrix densify(const LowRankFactors &f) {
  return fly::reference::densifyLowRank(f.u, f.rank, f.in, f.v, f.out);
}

/// Block-sparse part plus low-rank part, both through the reference.
DenseMatrix densify(const PixelflyFactors &f, int64_t out, int64_t in) {
  DenseMatrix sum = fly::reference::densifyBlockSparse(
      f.blocks, f.blockSize, f.layout.rows, f.layout.cols, out, in);
  if (f.lowRank.rank > 0) {
    const DenseMatrix low = densify(f.lowRank);
    for (size_t i = 0; i < sum.data.size(); ++i)
      sum.data[i] += low.data[i];
  }
  return sum;
}

/// Squared singular values of `a`, descending, as the eigenvalues of the
/// smaller Gram matrix: a different algorithm from the projection's SVD.
std::vector<double> squaredSingularValues(const Eigen::MatrixXd &a) {
  const Eigen::MatrixXd gram = a.rows() <= a.cols()
                                   ? Eigen::MatrixXd(a * a.transpose())
                                   : Eigen::MatrixXd(a.transpose() * a);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram,
                                                     Eigen::EigenvaluesOnly);
  std::vector<double> values(eig.eigenvalues().data(),
                             eig.eigenvalues().data() +
                                 eig.eigenvalues().size());
  for (double &v : values)
    v = std::max(v, 0.0);
  std::sort(values.rbegin(), values.rend());
  return values;
}

/// Sum of the squared singular values of `a` beyond the first `rank`: the
/// squared Frobenius error of the best rank-`rank` approximation.
double discardedEnergy(const Eigen::MatrixXd &a, int64_t rank) {
  const std::vector<double> values = squaredSingularValues(a);
  double sum = 0.0;
  for (size_t i = static_cast<size_t>(rank); i < values.size(); ++i)
    sum += values[i];
  return sum;
}

double squaredNorm(const std::vector<float> &w) {
  double sum = 0.0;
  for (float x : w)
    sum += static_cast<double>(x) * static_cast<double>(x);
  return sum;
}

Eigen::MatrixXd toEigen(const std::vector<float> &w, int64_t rows,
                        int64_t cols) {
  Eigen::MatrixXd a(rows, cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      a(i, j) = static_cast<double>(w[static_cast<size_t>(i * cols + j)]);
  return a;
}

/// The Eckart-Young bound of Monarch projection, computed from the op's
/// definition only: block (ll, kk) of the [outExt][inExt] zero-padded W is
/// rows {ss*l+ll}, columns {kk*p+pp}; its rank budget is the number of
/// intermediate indices t = kk*q+qq = rr*l+ll. Returns the relative error
/// sqrt(sum of discarded sigma^2) / ||W||.
double monarchBound(const std::vector<float> &w, const MonarchFactors &f) {
  double discarded = 0.0;
  for (int64_t ll = 0; ll < f.l; ++ll)
    for (int64_t kk = 0; kk < f.k; ++kk) {
      int64_t budget = 0;
      for (int64_t qq = 0; qq < f.q; ++qq)
        if ((kk * f.q + qq) % f.l == ll)
          ++budget;
      Eigen::MatrixXd block = Eigen::MatrixXd::Zero(f.s, f.p);
      for (int64_t ss = 0; ss < f.s; ++ss)
        for (int64_t pp = 0; pp < f.p; ++pp) {
          const int64_t row = ss * f.l + ll, col = kk * f.p + pp;
          if (row < f.out && col < f.in)
            block(ss, pp) = w[static_cast<size_t>(row * f.in + col)];
        }
      discarded += discardedEnergy(block, budget);
    }
  return std::sqrt(discarded / squaredNorm(w));
}

struct MonarchCase {
  int64_t out, in, nblocks;
};

std::string caseName(const MonarchCase &c) {
  return std::to_string(c.out) + "x" + std::to_string(c.in) + " nb " +
         std::to_string(c.nblocks);
}

/// Random Monarch factors of the case's shape, densified and cropped to
/// [out][in] floats.
std::vector<float> randomMonarchMatrix(const MonarchCase &c, uint64_t seed) {
  MonarchFactors truth;
  std::string error;
  EXPECT_TRUE(monarchShape(c.out, c.in, c.nblocks, truth, error)) << error;
  randomMonarch(truth, seed);
  return cropToFloat(densify(truth), c.out, c.in);
}

/// Relative error of projecting `w` onto Monarch (densified by the
/// reference, compared on [out][in]).
double monarchProjectionError(const std::vector<float> &w, const MonarchCase &c,
                              MonarchFactors &f) {
  std::string error;
  EXPECT_TRUE(projectMonarch(w.data(), c.out, c.in, c.nblocks, f, error))
      << error;
  return relativeFrobeniusError(w.data(), crop(densify(f), c.out, c.in), c.out,
                                c.in);
}
} // namespace

//===----------------------------------------------------------------------===//
// Monarch
//===----------------------------------------------------------------------===//

TEST(ProjectionTest, MonarchShapesFollowMonarchLinear) {
  MonarchFactors f;
  std::string error;
  // Widening 768 -> 3072 (the FlyOps.td example): w1 [4,192,192],
  // w2 [4,768,192].
  ASSERT_TRUE(monarchShape(3072, 768, 4, f, error)) << error;
  EXPECT_EQ((std::vector<int64_t>{f.k, f.q, f.p, f.l, f.s, f.r}),
            (std::vector<int64_t>{4, 192, 192, 4, 768, 192}));
  EXPECT_EQ(f.inExt, 768);
  EXPECT_EQ(f.outExt, 3072);
  // Narrowing 96 -> 48: w1 [4, 12, 24], w2 [4, 12, 12].
  ASSERT_TRUE(monarchShape(48, 96, 4, f, error)) << error;
  EXPECT_EQ((std::vector<int64_t>{f.k, f.q, f.p, f.l, f.s, f.r}),
            (std::vector<int64_t>{4, 12, 24, 4, 12, 12}));
  // Padding: in 50, out 70, nb 4: blk_in 13, blk_out 18, widening.
  ASSERT_TRUE(monarchShape(70, 50, 4, f, error)) << error;
  EXPECT_EQ((std::vector<int64_t>{f.k, f.q, f.p, f.l, f.s, f.r}),
            (std::vector<int64_t>{4, 13, 13, 4, 18, 13}));
  EXPECT_EQ(f.inExt, 52);
  EXPECT_EQ(f.outExt, 72);
  EXPECT_TRUE(f.w1.empty() && f.w2.empty());
}

TEST(ProjectionTest, MonarchShapeRejectsBadBlockCounts) {
  MonarchFactors f;
  std::string error;
  EXPECT_FALSE(monarchShape(64, 64, 0, f, error));
  EXPECT_NE(error.find("nblocks"), std::string::npos) << error;
  EXPECT_FALSE(monarchShape(64, 16, 17, f, error));
  EXPECT_FALSE(monarchShape(0, 16, 1, f, error));
  std::vector<float> w(64 * 16, 1.0f);
  EXPECT_FALSE(projectMonarch(w.data(), 64, 16, 17, f, error));
}

// A Monarch matrix is recovered exactly: every block has rank <= its budget
// and the truncated SVD keeps all of it.
TEST(ProjectionTest, MonarchRecoversMonarchMatrices) {
  const MonarchCase cases[] = {
      {64, 64, 4}, // square
      {96, 48, 4}, // widening
      {48, 96, 4}, // narrowing
      {64, 64, 2},
      {64, 64, 8},
      {96, 48, 3},
      {48, 96, 3},
      {48, 96, 8}, // budget 0 or 1 per block: some blocks are
                   // always zero
      {70, 50, 4}, // padded: in 50 -> 52, out 70 -> 72
      {50, 70, 4},
      {45, 45, 4},
  };
  uint64_t seed = 1;
  for (const MonarchCase &c : cases) {
    const std::vector<float> w = randomMonarchMatrix(c, seed++);
    MonarchFactors f;
    const double err = monarchProjectionError(w, c, f);
    EXPECT_LE(err, kExactTol) << caseName(c);
    std::printf("[ monarch  ] recover %-16s relative error %.2e\n",
                caseName(c).c_str(), err);
    EXPECT_EQ(f.w1.size(), static_cast<size_t>(f.k * f.q * f.p));
    EXPECT_EQ(f.w2.size(), static_cast<size_t>(f.l * f.s * f.r));
  }
}

// Different blocks own disjoint parameters: changing W inside one block
// (ll, kk) changes the projection only inside that block.
TEST(ProjectionTest, MonarchBlocksAreIndependent) {
  // Non-divisible q = 13 with l = 4 so that blocks have unequal budgets.
  const MonarchCase c{70, 50, 4};
  std::vector<float> w = gaussianVector(static_cast<size_t>(c.out * c.in), 7);
  MonarchFactors before, after;
  monarchProjectionError(w, c, before);
  const DenseMatrix denseBefore = densify(before);

  const int64_t ll = 2, kk = 1;
  const std::vector<float> noise =
      gaussianVector(static_cast<size_t>(c.out * c.in), 8);
  for (int64_t row = ll; row < c.out; row += before.l)
    for (int64_t col = kk * before.p; col < (kk + 1) * before.p; ++col)
      w[static_cast<size_t>(row * c.in + col)] +=
          noise[static_cast<size_t>(row * c.in + col)];
  monarchProjectionError(w, c, after);
  const DenseMatrix denseAfter = densify(after);

  double changedInside = 0.0;
  for (int64_t row = 0; row < before.outExt; ++row)
    for (int64_t col = 0; col < before.inExt; ++col) {
      const double delta =
          std::abs(denseAfter(row, col) - denseBefore(row, col));
      const bool inside = row % before.l == ll && col / before.p == kk;
      if (inside)
        changedInside = std::max(changedInside, delta);
      else
        EXPECT_EQ(delta, 0.0) << "at (" << row << ", " << col << ")";
    }
  EXPECT_GT(changedInside, 0.1);
}

// On a random Gaussian W the error equals the per-block Eckart-Young bound:
// the projection is the optimum for the structure.
TEST(ProjectionTest, MonarchMeetsPerBlockEckartYoungBound) {
  const MonarchCase cases[] = {
      {64, 64, 4}, {96, 48, 4}, {48, 96, 4},    {70, 50, 4},
      {48, 96, 8}, {96, 48, 3}, {256, 1024, 4},
  };
  unsigned seed = 100;
  for (const MonarchCase &c : cases) {
    const std::vector<float> w =
        gaussianVector(static_cast<size_t>(c.out * c.in), seed++);
    MonarchFactors f;
    const double err = monarchProjectionError(w, c, f);
    const double bound = monarchBound(w, f);
    EXPECT_NEAR(err, bound, kBoundTol) << caseName(c);
    std::printf("[ monarch  ] %-16s relative error %.6f, Eckart-Young bound "
                "%.6f\n",
                caseName(c).c_str(), err, bound);
  }
}

// The GPT-2 MLP shape: 768 -> 3072 with 4 blocks (w1 [4,192,192],
// w2 [4,768,192]).
TEST(ProjectionTest, MonarchGpt2SizedRandomWeight) {
  const MonarchCase c{3072, 768, 4};
  const std::vector<float> w =
      gaussianVector(static_cast<size_t>(c.out * c.in), 2022);
  MonarchFactors f;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(projectMonarch(w.data(), c.out, c.in, c.nblocks, f, error))
      << error;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const double err = relativeFrobeniusError(
      w.data(), crop(densify(f), c.out, c.in), c.out, c.in);
  const double bound = monarchBound(w, f);
  EXPECT_NEAR(err, bound, kBoundTol);
  std::printf("[ monarch  ] GPT-2 768->3072 nb 4: relative error %.6f, "
              "Eckart-Young bound %.6f, projection took %.2f s\n",
              err, bound, seconds);
}

TEST(ProjectionTest, RandomMonarchHasDenseLayerVariance) {
  const MonarchCase cases[] = {{256, 256, 4}, {512, 128, 4}, {130, 250, 3}};
  for (const MonarchCase &c : cases) {
    MonarchFactors f;
    std::string error;
    ASSERT_TRUE(monarchShape(c.out, c.in, c.nblocks, f, error)) << error;
    randomMonarch(f, 5);
    const std::vector<float> w = cropToFloat(densify(f), c.out, c.in);
    // Mean square entry vs 1/in. Blocks have budgets q/l rounded up or down
    // (q = 84 with l = 3 is exact; 13 / 4 is not), hence "roughly".
    const double meanSquare =
        squaredNorm(w) / static_cast<double>(c.out * c.in);
    EXPECT_NEAR(meanSquare * static_cast<double>(c.in), 1.0, 0.1)
        << caseName(c);
  }
  // Seeded: same seed, same factors; another seed, others.
  MonarchFactors a, b, d;
  std::string error;
  ASSERT_TRUE(monarchShape(64, 32, 4, a, error));
  b = a;
  d = a;
  randomMonarch(a, 9);
  randomMonarch(b, 9);
  randomMonarch(d, 10);
  EXPECT_EQ(a.w1, b.w1);
  EXPECT_EQ(a.w2, b.w2);
  EXPECT_NE(a.w1, d.w1);
}

//===----------------------------------------------------------------------===//
// Low rank
//===----------------------------------------------------------------------===//

TEST(ProjectionTest, LowRankRecoversLowRankMatrices) {
  for (int64_t rank : {1, 7, 40}) {
    LowRankFactors truth;
    truth.rank = rank;
    truth.out = 80;
    truth.in = 60;
    randomLowRank(truth, static_cast<uint64_t>(rank));
    const std::vector<float> w = cropToFloat(densify(truth), 80, 60);
    LowRankFactors f;
    std::string error;
    ASSERT_TRUE(projectLowRank(w.data(), 80, 60, rank, f, error)) << error;
    EXPECT_EQ(f.u.size(), static_cast<size_t>(rank * 60));
    EXPECT_EQ(f.v.size(), static_cast<size_t>(80 * rank));
    const double err =
        relativeFrobeniusError(w.data(), crop(densify(f), 80, 60), 80, 60);
    EXPECT_LE(err, kExactTol) << "rank " << rank;
    std::printf("[ lowrank  ] recover 80x60 rank %ld: relative error %.2e\n",
                static_cast<long>(rank), err);
  }
}

// Eckart-Young: the error of the best rank-r approximation is
// sqrt(sum_{i>r} sigma_i^2) / ||W||; the factors are balanced,
// ||v[:, a]|| = ||u[a, :]|| = sqrt(sigma_a).
TEST(ProjectionTest, LowRankMeetsEckartYoung) {
  const int64_t out = 96, in = 72;
  const std::vector<float> w =
      gaussianVector(static_cast<size_t>(out * in), 31);
  const std::vector<double> sigma2 = squaredSingularValues(toEigen(w, out, in));
  for (int64_t rank : {1, 10, 72}) {
    LowRankFactors f;
    std::string error;
    ASSERT_TRUE(projectLowRank(w.data(), out, in, rank, f, error)) << error;
    const double err =
        relativeFrobeniusError(w.data(), crop(densify(f), out, in), out, in);
    const double bound =
        std::sqrt(discardedEnergy(toEigen(w, out, in), rank) / squaredNorm(w));
    EXPECT_NEAR(err, bound, kBoundTol) << "rank " << rank;
    std::printf("[ lowrank  ] %ldx%ld rank %ld: relative error %.6f, "
                "Eckart-Young bound %.6f\n",
                static_cast<long>(out), static_cast<long>(in),
                static_cast<long>(rank), err, bound);
    for (int64_t a = 0; a < rank; ++a) {
      double uNorm = 0.0, vNorm = 0.0;
      for (int64_t j = 0; j < in; ++j)
        uNorm += std::pow(f.u[static_cast<size_t>(a * in + j)], 2);
      for (int64_t i = 0; i < out; ++i)
        vNorm += std::pow(f.v[static_cast<size_t>(i * rank + a)], 2);
      const double sigma = std::sqrt(sigma2[static_cast<size_t>(a)]);
      EXPECT_NEAR(uNorm, sigma, 1e-5 * sigma) << "component " << a;
      EXPECT_NEAR(vNorm, sigma, 1e-5 * sigma) << "component " << a;
    }
  }
}

TEST(ProjectionTest, LowRankRejectsBadRanks) {
  std::vector<float> w(12, 1.0f);
  LowRankFactors f;
  std::string error;
  EXPECT_FALSE(projectLowRank(w.data(), 3, 4, 0, f, error));
  EXPECT_NE(error.find("rank"), std::string::npos) << error;
  EXPECT_FALSE(projectLowRank(w.data(), 3, 4, 4, f, error));
  EXPECT_TRUE(projectLowRank(w.data(), 3, 4, 3, f, error)) << error;
}

TEST(ProjectionTest, RandomLowRankHasDenseLayerVariance) {
  LowRankFactors f;
  f.rank = 16;
  f.out = 512;
  f.in = 256;
  randomLowRank(f, 3);
  const std::vector<float> w = cropToFloat(densify(f), f.out, f.in);
  EXPECT_NEAR(squaredNorm(w) / static_cast<double>(f.out), 1.0, 0.1);
  LowRankFactors g = f;
  randomLowRank(g, 3);
  EXPECT_EQ(f.u, g.u);
  EXPECT_EQ(f.v, g.v);
}

//===----------------------------------------------------------------------===//
// Pixelfly
//===----------------------------------------------------------------------===//

namespace {
// 8 x 8 blocks of 8, base pattern 8 x 8 with 2 factors: diagonal plus XOR 1
// and XOR 2 partners, i.e. dense 4 x 4 groups on the block diagonal.
constexpr int64_t kPixOut = 64, kPixIn = 64, kPixBlock = 8, kPixS = 8,
                  kPixFactors = 2;

std::set<std::pair<int64_t, int64_t>> layoutSet(const BlockLayout &layout) {
  std::set<std::pair<int64_t, int64_t>> set;
  for (size_t e = 0; e < layout.rows.size(); ++e)
    set.insert({layout.rows[e], layout.cols[e]});
  return set;
}

BlockLayout testLayout() {
  return flatBlockButterflyLayout(kPixOut, kPixIn, kPixBlock, kPixS,
                                  kPixFactors);
}

/// A random matrix supported on the layout's blocks.
std::vector<float> sparseOnLayout(unsigned seed) {
  const auto kept = layoutSet(testLayout());
  std::vector<float> w = gaussianVector(kPixOut * kPixIn, seed);
  for (int64_t i = 0; i < kPixOut; ++i)
    for (int64_t j = 0; j < kPixIn; ++j)
      if (!kept.count({i / kPixBlock, j / kPixBlock}))
        w[static_cast<size_t>(i * kPixIn + j)] = 0.0f;
  return w;
}

double pixelflyError(const std::vector<float> &w, int64_t rank,
                     PixelflyFactors &f) {
  std::string error;
  EXPECT_TRUE(projectPixelfly(w.data(), kPixOut, kPixIn, kPixBlock, kPixS,
                              kPixFactors, rank, f, error))
      << error;
  return relativeFrobeniusError(w.data(), densify(f, kPixOut, kPixIn).data,
                                kPixOut, kPixIn);
}
} // namespace

TEST(ProjectionTest, PixelflyRecoversSparseOnLayout) {
  const std::vector<float> w = sparseOnLayout(41);
  for (int64_t rank : {0, 4}) {
    PixelflyFactors f;
    const double err = pixelflyError(w, rank, f);
    EXPECT_LE(err, kExactTol) << "rank " << rank;
    std::printf("[ pixelfly ] recover S, rank %ld: relative error %.2e\n",
                static_cast<long>(rank), err);
    EXPECT_EQ(f.layout.rows, testLayout().rows);
    EXPECT_EQ(f.layout.cols, testLayout().cols);
    EXPECT_EQ(f.lowRank.rank, rank);
    EXPECT_EQ(f.lowRank.u.size(), static_cast<size_t>(rank * kPixIn));
  }
}

// W = S + L with L of rank r and zero on the layout: the off-layout residual
// is exactly L, so both parts come back.
TEST(ProjectionTest, PixelflyRecoversSparsePlusOffLayoutLowRank) {
  const BlockLayout layout = testLayout();
  const auto kept = layoutSet(layout);
  // Block rows 0-3 only keep block columns 0-3 (XOR 1, 2 stay in the group
  // of 4), so L may live on rows 0-31 x columns 32-63.
  std::set<int64_t> rowBlocks{0, 1, 2, 3}, colBlocks;
  for (int64_t c = 0; c < layout.blockCols; ++c) {
    bool free = true;
    for (int64_t r : rowBlocks)
      free = free && !kept.count({r, c});
    if (free)
      colBlocks.insert(c);
  }
  ASSERT_EQ(colBlocks, (std::set<int64_t>{4, 5, 6, 7}));

  const int64_t rank = 3;
  const std::vector<float> a = gaussianVector(kPixOut * rank, 51);
  const std::vector<float> b = gaussianVector(rank * kPixIn, 52);
  std::vector<float> w = sparseOnLayout(53);
  for (int64_t i = 0; i < kPixOut; ++i)
    for (int64_t j = 0; j < kPixIn; ++j) {
      if (!rowBlocks.count(i / kPixBlock) || !colBlocks.count(j / kPixBlock))
        continue;
      double l = 0.0;
      for (int64_t t = 0; t < rank; ++t)
        l += static_cast<double>(a[static_cast<size_t>(i * rank + t)]) *
             static_cast<double>(b[static_cast<size_t>(t * kPixIn + j)]);
      w[static_cast<size_t>(i * kPixIn + j)] += static_cast<float>(l);
    }
  PixelflyFactors f;
  const double err = pixelflyError(w, rank, f);
  EXPECT_LE(err, kExactTol);
  std::printf("[ pixelfly ] recover S + off-layout rank 3: relative error "
              "%.2e\n",
              err);
  // One rank short is not enough any more.
  EXPECT_GT(pixelflyError(w, rank - 1, f), 1e-2);
}

// What the heuristic guarantees on an arbitrary W: exact on the layout, and
// an error no larger than the Eckart-Young error of the off-layout part.
TEST(ProjectionTest, PixelflyIsExactOnLayoutAndBoundedOffIt) {
  const std::vector<float> w = gaussianVector(kPixOut * kPixIn, 61);
  const auto kept = layoutSet(testLayout());
  Eigen::MatrixXd offLayout = toEigen(w, kPixOut, kPixIn);
  for (const auto &[r, c] : kept)
    offLayout.block(r * kPixBlock, c * kPixBlock, kPixBlock, kPixBlock)
        .setZero();

  for (int64_t rank : {0, 4, 16}) {
    PixelflyFactors f;
    const double err = pixelflyError(w, rank, f);
    const DenseMatrix dense = densify(f, kPixOut, kPixIn);
    double maxOnLayout = 0.0;
    for (int64_t i = 0; i < kPixOut; ++i)
      for (int64_t j = 0; j < kPixIn; ++j)
        if (kept.count({i / kPixBlock, j / kPixBlock}))
          maxOnLayout = std::max(
              maxOnLayout,
              std::abs(dense(i, j) - w[static_cast<size_t>(i * kPixIn + j)]));
    EXPECT_LE(maxOnLayout, 1e-5) << "rank " << rank;
    const double bound =
        std::sqrt(discardedEnergy(offLayout, rank) / squaredNorm(w));
    EXPECT_LE(err, bound + 1e-6) << "rank " << rank;
    // No low-rank part: the error is exactly W off the layout.
    if (rank == 0) {
      EXPECT_NEAR(err, bound, kBoundTol);
    }
    std::printf("[ pixelfly ] 64x64 b 8 rank %ld: relative error %.6f, "
                "off-layout Eckart-Young bound %.6f\n",
                static_cast<long>(rank), err, bound);
  }
}

// The documented limit: a low-rank part that also covers the layout is not
// separated from the sparse part (that would need robust PCA).
TEST(ProjectionTest, PixelflyDoesNotSeparateDenseLowRank) {
  const int64_t rank = 2;
  const std::vector<float> a = gaussianVector(kPixOut * rank, 71);
  const std::vector<float> b = gaussianVector(rank * kPixIn, 72);
  std::vector<float> w = sparseOnLayout(73);
  for (int64_t i = 0; i < kPixOut; ++i)
    for (int64_t j = 0; j < kPixIn; ++j) {
      double l = 0.0;
      for (int64_t t = 0; t < rank; ++t)
        l += static_cast<double>(a[static_cast<size_t>(i * rank + t)]) *
             static_cast<double>(b[static_cast<size_t>(t * kPixIn + j)]);
      w[static_cast<size_t>(i * kPixIn + j)] += static_cast<float>(l);
    }
  PixelflyFactors f;
  EXPECT_GT(pixelflyError(w, rank, f), 1e-2);
}

TEST(ProjectionTest, PixelflyRejectsBadArguments) {
  std::vector<float> w(64 * 64, 1.0f);
  PixelflyFactors f;
  std::string error;
  EXPECT_FALSE(projectPixelfly(w.data(), 64, 64, 7, 8, 2, 0, f, error));
  EXPECT_NE(error.find("blockSize"), std::string::npos) << error;
  EXPECT_FALSE(projectPixelfly(w.data(), 64, 64, 8, 6, 2, 0, f, error));
  EXPECT_FALSE(projectPixelfly(w.data(), 64, 64, 8, 8, 2, -1, f, error));
  EXPECT_FALSE(projectPixelfly(w.data(), 64, 64, 8, 8, 2, 65, f, error));
}

//===----------------------------------------------------------------------===//
// Error measure
//===----------------------------------------------------------------------===//

TEST(ProjectionTest, RelativeFrobeniusError) {
  const std::vector<float> w{3.0f, 0.0f, 0.0f, 4.0f};
  EXPECT_DOUBLE_EQ(relativeFrobeniusError(w.data(), {3.0, 0.0, 0.0, 4.0}, 2, 2),
                   0.0);
  // ||(0, 0, 0, 4)|| / ||(3, 0, 0, 4)|| = 4 / 5.
  EXPECT_DOUBLE_EQ(relativeFrobeniusError(w.data(), {3.0, 0.0, 0.0, 0.0}, 2, 2),
                   0.8);
  const std::vector<float> zero(4, 0.0f);
  EXPECT_DOUBLE_EQ(
      relativeFrobeniusError(zero.data(), {0.0, 3.0, 4.0, 0.0}, 2, 2), 5.0);
}

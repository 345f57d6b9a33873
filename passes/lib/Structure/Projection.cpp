//===- Projection.cpp - Project dense weights onto structures ---*- C++ -*-===//
//
// All projections reduce to truncated SVDs, done in double precision with
// Eigen's BDCSVD (divide and conquer; it falls back to one-sided Jacobi for
// small matrices). Factors are stored as float only at the end, and the
// Pixelfly sparse part is computed from the float-rounded low-rank factors so
// that the sum reproduces W on the layout as exactly as float allows.
//
//===----------------------------------------------------------------------===//

#include "fly/Structure/Projection.h"

#include <Eigen/Dense>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>

using namespace fly::structure;
using Eigen::MatrixXd;

namespace {

//===----------------------------------------------------------------------===//
// Random numbers
//===----------------------------------------------------------------------===//

/// SplitMix64 with Box-Muller: std::normal_distribution is not specified
/// bit-for-bit, and random factors seeded for an artifact should be the same
/// whichever standard library built the compiler.
class Gaussian {
public:
  explicit Gaussian(uint64_t seed) : state(seed) {}

  double next() {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    // u1 in (0, 1] so that log(u1) is finite.
    const double u1 = (static_cast<double>(nextBits() >> 11) + 1.0) * 0x1p-53;
    const double u2 = static_cast<double>(nextBits() >> 11) * 0x1p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586476925 * u2; // 2 pi
    spare = radius * std::sin(angle);
    hasSpare = true;
    return radius * std::cos(angle);
  }

private:
  uint64_t nextBits() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  uint64_t state;
  double spare = 0.0;
  bool hasSpare = false;
};

void fillGaussian(std::vector<float> &values, size_t count, double stddev,
                  Gaussian &rng) {
  values.resize(count);
  for (float &v : values)
    v = static_cast<float>(stddev * rng.next());
}

//===----------------------------------------------------------------------===//
// SVD helpers
//===----------------------------------------------------------------------===//

/// The thin SVD of `a`, with U and V.
Eigen::BDCSVD<MatrixXd> thinSvd(const MatrixXd &a) {
  return Eigen::BDCSVD<MatrixXd>(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
}

/// Rank-`rank` truncated SVD of `a` as balanced float factors
/// v = U sqrt(S) [out][rank] and u = sqrt(S) V^T [rank][in]. If `a` has fewer
/// than `rank` singular values the remaining factor rows/columns stay zero.
void lowRankOf(const MatrixXd &a, int64_t rank, LowRankFactors &f) {
  f.rank = rank;
  f.out = a.rows();
  f.in = a.cols();
  f.u.assign(static_cast<size_t>(rank * f.in), 0.0f);
  f.v.assign(static_cast<size_t>(f.out * rank), 0.0f);
  if (rank == 0)
    return;
  const auto svd = thinSvd(a);
  const int64_t kept = std::min<int64_t>(rank, svd.singularValues().size());
  for (int64_t i = 0; i < kept; ++i) {
    const double root = std::sqrt(svd.singularValues()(i));
    for (int64_t o = 0; o < f.out; ++o)
      f.v[static_cast<size_t>(o * rank + i)] =
          static_cast<float>(svd.matrixU()(o, i) * root);
    for (int64_t j = 0; j < f.in; ++j)
      f.u[static_cast<size_t>(i * f.in + j)] =
          static_cast<float>(root * svd.matrixV()(j, i));
  }
}

MatrixXd toMatrix(const float *w, int64_t out, int64_t in) {
  MatrixXd a(out, in);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < in; ++j)
      a(o, j) = static_cast<double>(w[o * in + j]);
  return a;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

//===----------------------------------------------------------------------===//
// Monarch
//===----------------------------------------------------------------------===//

bool fly::structure::monarchShape(int64_t out, int64_t in, int64_t nblocks,
                                  MonarchFactors &f, std::string &error) {
  using std::to_string;
  if (out < 1 || in < 1) {
    error = "Monarch: matrix dimensions must be positive, got out = " +
            to_string(out) + ", in = " + to_string(in);
    return false;
  }
  if (nblocks < 1 || nblocks > std::min(out, in)) {
    error = "Monarch: nblocks = " + to_string(nblocks) +
            " must be in [1, min(out = " + to_string(out) +
            ", in = " + to_string(in) + ")]";
    return false;
  }
  const int64_t blkIn = ceilDiv(in, nblocks), blkOut = ceilDiv(out, nblocks);
  f = MonarchFactors();
  f.in = in;
  f.out = out;
  f.inExt = nblocks * blkIn;
  f.outExt = nblocks * blkOut;
  f.k = f.l = nblocks;
  f.p = blkIn;
  f.s = blkOut;
  // The research code's MonarchLinear: the wider intermediate dimension
  // k*q = l*r is max(in_ext, out_ext).
  if (f.inExt < f.outExt) {
    f.q = blkIn;
    f.r = blkIn;
  } else {
    f.q = blkOut;
    f.r = blkOut;
  }
  return true;
}

// Why per-block SVD is the exact optimum. The intermediate index
// t in [0, k*q) = [0, l*r) names one row of w1 (kk, qq) = (t / q, t % q) and
// one column of w2 (ll, rr) = (t % l, t / l); both maps are bijections, so
// every w1 row and every w2 column belongs to exactly one t. The dense matrix
// is M = sum_t w2[ll(t)][:, rr(t)] (x) w1[kk(t)][qq(t)][:] placed at rows
// {ss*l + ll(t)} and columns {kk(t)*p + pp}: term t only touches block
// (ll(t), kk(t)). Hence block (ll, kk) = A B with A = [s x R] (the w2 columns
// of the t's with t / q = kk and t % l = ll) and B = [R x p] (their w1 rows),
// and distinct blocks own disjoint parameters, in every shape case (nothing
// here assumes l = k or that l divides q). ||W - M||_F^2 is the sum over
// blocks of ||W_blk - A B||_F^2, each minimised independently by the rank-R
// truncated SVD. Rows >= out and columns >= in of the padded W are zero and
// stay zero in the SVD's singular vectors (zero rows/columns only add zero
// entries to U/V), so the factors also leave the padding unused and the
// optimum over the visible [out][in] part is the same.
bool fly::structure::projectMonarch(const float *w, int64_t out, int64_t in,
                                    int64_t nblocks, MonarchFactors &f,
                                    std::string &error) {
  if (!monarchShape(out, in, nblocks, f, error))
    return false;
  f.w1.assign(static_cast<size_t>(f.k * f.q * f.p), 0.0f);
  f.w2.assign(static_cast<size_t>(f.l * f.s * f.r), 0.0f);

  std::vector<int64_t> ts;
  MatrixXd block(f.s, f.p);
  for (int64_t kk = 0; kk < f.k; ++kk)
    for (int64_t ll = 0; ll < f.l; ++ll) {
      // The t's of this block, increasing: the rank-i component goes to the
      // i-th of them.
      ts.clear();
      for (int64_t t = kk * f.q; t < (kk + 1) * f.q; ++t)
        if (t % f.l == ll)
          ts.push_back(t);
      if (ts.empty())
        continue; // The block is identically zero in every Monarch matrix.

      for (int64_t ss = 0; ss < f.s; ++ss)
        for (int64_t pp = 0; pp < f.p; ++pp) {
          const int64_t row = ss * f.l + ll, col = kk * f.p + pp;
          block(ss, pp) = row < out && col < in
                              ? static_cast<double>(w[row * in + col])
                              : 0.0;
        }
      const auto svd = thinSvd(block);
      const int64_t kept =
          std::min<int64_t>(ts.size(), svd.singularValues().size());
      for (int64_t i = 0; i < kept; ++i) {
        const int64_t t = ts[static_cast<size_t>(i)];
        const int64_t qq = t % f.q, rr = t / f.l;
        const double root = std::sqrt(svd.singularValues()(i));
        for (int64_t ss = 0; ss < f.s; ++ss)
          f.w2[static_cast<size_t>((ll * f.s + ss) * f.r + rr)] =
              static_cast<float>(svd.matrixU()(ss, i) * root);
        for (int64_t pp = 0; pp < f.p; ++pp)
          f.w1[static_cast<size_t>((kk * f.q + qq) * f.p + pp)] =
              static_cast<float>(root * svd.matrixV()(pp, i));
      }
    }
  return true;
}

void fly::structure::randomMonarch(MonarchFactors &f, uint64_t seed) {
  Gaussian rng(seed);
  // An entry of the product sums R = |{t in block}| ~ q / l terms
  // w2 * w1, so its variance is R * var1 * var2. w1 gets the fan-in scale of
  // its block (1/p) and w2 makes up the rest so that R * var1 * var2 = 1/in.
  const double var1 = 1.0 / static_cast<double>(f.p);
  const double var2 =
      static_cast<double>(f.p * f.l) / static_cast<double>(f.in * f.q);
  fillGaussian(f.w1, static_cast<size_t>(f.k * f.q * f.p), std::sqrt(var1),
               rng);
  fillGaussian(f.w2, static_cast<size_t>(f.l * f.s * f.r), std::sqrt(var2),
               rng);
}

//===----------------------------------------------------------------------===//
// Low rank
//===----------------------------------------------------------------------===//

bool fly::structure::projectLowRank(const float *w, int64_t out, int64_t in,
                                    int64_t rank, LowRankFactors &f,
                                    std::string &error) {
  using std::to_string;
  if (out < 1 || in < 1) {
    error = "low rank: matrix dimensions must be positive, got out = " +
            to_string(out) + ", in = " + to_string(in);
    return false;
  }
  if (rank < 1 || rank > std::min(out, in)) {
    error = "low rank: rank = " + to_string(rank) +
            " must be in [1, min(out = " + to_string(out) +
            ", in = " + to_string(in) + ")]";
    return false;
  }
  lowRankOf(toMatrix(w, out, in), rank, f);
  return true;
}

void fly::structure::randomLowRank(LowRankFactors &f, uint64_t seed) {
  Gaussian rng(seed);
  // Entry variance of v * u is rank * var_u * var_v = 1/in.
  fillGaussian(f.u, static_cast<size_t>(f.rank * f.in),
               std::sqrt(1.0 / static_cast<double>(f.in)), rng);
  fillGaussian(
      f.v, static_cast<size_t>(f.out * f.rank),
      std::sqrt(1.0 / static_cast<double>(std::max<int64_t>(f.rank, 1))), rng);
}

//===----------------------------------------------------------------------===//
// Pixelfly
//===----------------------------------------------------------------------===//

// Taking S = W on the layout and L = SVD of the rest (the plain heuristic)
// leaves error L on the layout; refitting S = W - L there removes it at no
// cost, so this version is never worse. Neither is the optimum: that is
// min over rank-r L of ||W - L|| off the layout, a matrix-completion problem.
bool fly::structure::projectPixelfly(const float *w, int64_t out, int64_t in,
                                     int64_t blockSize, int64_t butterflySize,
                                     int64_t nFactors, int64_t rank,
                                     PixelflyFactors &f, std::string &error) {
  using std::to_string;
  const std::string layoutError = validateFlatBlockButterflyArgs(
      out, in, blockSize, butterflySize, nFactors, /*globalSize=*/0);
  if (!layoutError.empty()) {
    error = "Pixelfly: " + layoutError;
    return false;
  }
  if (rank < 0 || rank > std::min(out, in)) {
    error = "Pixelfly: rank = " + to_string(rank) +
            " must be in [0, min(out = " + to_string(out) +
            ", in = " + to_string(in) + ")]";
    return false;
  }
  f = PixelflyFactors();
  f.blockSize = blockSize;
  f.layout = flatBlockButterflyLayout(out, in, blockSize, butterflySize,
                                      nFactors, /*globalSize=*/0);
  const int64_t b = blockSize;
  const size_t nnz = f.layout.rows.size();

  MatrixXd residual = toMatrix(w, out, in);
  for (size_t e = 0; e < nnz; ++e)
    residual.block(f.layout.rows[e] * b, f.layout.cols[e] * b, b, b).setZero();
  lowRankOf(residual, rank, f.lowRank);

  f.blocks.assign(nnz * static_cast<size_t>(b * b), 0.0f);
  for (size_t e = 0; e < nnz; ++e)
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < b; ++j) {
        const int64_t row = f.layout.rows[e] * b + i;
        const int64_t col = f.layout.cols[e] * b + j;
        // L[row][col] from the float factors that will actually be used.
        double lowRankPart = 0.0;
        for (int64_t a = 0; a < rank; ++a)
          lowRankPart += static_cast<double>(
                             f.lowRank.v[static_cast<size_t>(row * rank + a)]) *
                         static_cast<double>(
                             f.lowRank.u[static_cast<size_t>(a * in + col)]);
        f.blocks[e * static_cast<size_t>(b * b) +
                 static_cast<size_t>(i * b + j)] =
            static_cast<float>(static_cast<double>(w[row * in + col]) -
                               lowRankPart);
      }
  return true;
}

//===----------------------------------------------------------------------===//
// Error measure
//===----------------------------------------------------------------------===//

double fly::structure::relativeFrobeniusError(const float *w,
                                              const std::vector<double> &approx,
                                              int64_t out, int64_t in) {
  double diff = 0.0, norm = 0.0;
  for (int64_t i = 0; i < out * in; ++i) {
    const double wi = static_cast<double>(w[i]);
    const double d = wi - approx[static_cast<size_t>(i)];
    diff += d * d;
    norm += wi * wi;
  }
  return norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

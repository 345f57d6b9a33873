//===- Densify.cpp - Reference densification of fly matrices ----*- C++ -*-===//
//
// Each structured map is densified by building its stages as explicit dense
// matrices and multiplying them, rather than by pushing unit vectors through a
// fast algorithm. That keeps the oracle structurally different from the
// lowering it checks.
//
//===----------------------------------------------------------------------===//

#include "fly/Reference/Densify.h"

#include <cstdio>
#include <cstdlib>

using namespace fly::reference;

namespace {
/// Aborts with a message when a precondition fails. Always active (unlike
/// assert) because a reference that reads out of bounds in a release build
/// would silently produce a wrong oracle.
void require(bool cond, const char *what) {
  if (cond)
    return;
  std::fprintf(stderr, "fly::reference (Densify): precondition failed: %s\n",
               what);
  std::abort();
}

/// Returns the non-negative remainder of a modulo b (b > 0).
int64_t positiveMod(int64_t a, int64_t b) {
  int64_t m = a % b;
  return m < 0 ? m + b : m;
}
} // namespace

DenseMatrix::DenseMatrix(int64_t r, int64_t c)
    : rows(r), cols(c), data(static_cast<size_t>(r * c), 0.0) {
  require(r >= 0 && c >= 0, "matrix dimensions must be non-negative");
}

double &DenseMatrix::operator()(int64_t r, int64_t c) {
  require(r >= 0 && r < rows && c >= 0 && c < cols, "index out of range");
  return data[static_cast<size_t>(r * cols + c)];
}

double DenseMatrix::operator()(int64_t r, int64_t c) const {
  require(r >= 0 && r < rows && c >= 0 && c < cols, "index out of range");
  return data[static_cast<size_t>(r * cols + c)];
}

DenseMatrix fly::reference::matmul(const DenseMatrix &a, const DenseMatrix &b) {
  require(a.cols == b.rows, "matmul: inner dimensions differ");
  DenseMatrix c(a.rows, b.cols);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < b.cols; ++j) {
      double acc = 0.0;
      for (int64_t t = 0; t < a.cols; ++t)
        acc += a(i, t) * b(t, j);
      c(i, j) = acc;
    }
  return c;
}

DenseMatrix fly::reference::identity(int64_t n) {
  DenseMatrix id(n, n);
  for (int64_t i = 0; i < n; ++i)
    id(i, i) = 1.0;
  return id;
}

std::vector<double> fly::reference::applyDense(const DenseMatrix &w,
                                               const std::vector<float> &x,
                                               int64_t batch) {
  require(batch >= 0, "applyDense: negative batch");
  require(static_cast<int64_t>(x.size()) == batch * w.cols,
          "applyDense: x must have batch * W.cols elements");
  std::vector<double> y(static_cast<size_t>(batch * w.rows), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < w.rows; ++i) {
      double acc = 0.0;
      for (int64_t j = 0; j < w.cols; ++j)
        acc += w(i, j) * static_cast<double>(x[b * w.cols + j]);
      y[b * w.rows + i] = acc;
    }
  return y;
}

DenseMatrix fly::reference::densifyMonarch(const std::vector<float> &w1,
                                           int64_t k, int64_t q, int64_t p,
                                           const std::vector<float> &w2,
                                           int64_t l, int64_t s, int64_t r) {
  require(k > 0 && q > 0 && p > 0 && l > 0 && s > 0 && r > 0,
          "monarch: all dimensions must be positive");
  require(static_cast<int64_t>(w1.size()) == k * q * p,
          "monarch: w1 must have k*q*p elements");
  require(static_cast<int64_t>(w2.size()) == l * s * r,
          "monarch: w2 must have l*s*r elements");
  require(l * r == k * q, "monarch: l*r must equal k*q");

  // Stage 1: block-diagonal [k*q][k*p], block kk is w1[kk].
  DenseMatrix stage1(k * q, k * p);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t qq = 0; qq < q; ++qq)
      for (int64_t pp = 0; pp < p; ++pp)
        stage1(kk * q + qq, kk * p + pp) = w1[(kk * q + qq) * p + pp];

  // Permutation [l*r][k*q]: g (flattened as ll*r+rr) takes h[rr*l+ll].
  DenseMatrix perm(l * r, k * q);
  for (int64_t ll = 0; ll < l; ++ll)
    for (int64_t rr = 0; rr < r; ++rr)
      perm(ll * r + rr, rr * l + ll) = 1.0;

  // Stage 2 [l*s][l*r]: output row ss*l+ll reads g[ll][:] through w2[ll][ss].
  // The output is interleaved (ll fastest), so this is not block-diagonal.
  DenseMatrix stage2(l * s, l * r);
  for (int64_t ll = 0; ll < l; ++ll)
    for (int64_t ss = 0; ss < s; ++ss)
      for (int64_t rr = 0; rr < r; ++rr)
        stage2(ss * l + ll, ll * r + rr) = w2[(ll * s + ss) * r + rr];

  return matmul(stage2, matmul(perm, stage1));
}

DenseMatrix fly::reference::densifyLowRank(const std::vector<float> &u,
                                           int64_t r, int64_t n,
                                           const std::vector<float> &v,
                                           int64_t m) {
  require(r >= 0 && n >= 0 && m >= 0, "lowrank: negative dimension");
  require(static_cast<int64_t>(u.size()) == r * n,
          "lowrank: u must have r*n elements");
  require(static_cast<int64_t>(v.size()) == m * r,
          "lowrank: v must have m*r elements");
  DenseMatrix um(r, n), vm(m, r);
  for (int64_t i = 0; i < r * n; ++i)
    um.data[i] = u[i];
  for (int64_t i = 0; i < m * r; ++i)
    vm.data[i] = v[i];
  return matmul(vm, um);
}

DenseMatrix fly::reference::densifyBlockSparse(const std::vector<float> &blocks,
                                               int64_t blockSize,
                                               const std::vector<int64_t> &rows,
                                               const std::vector<int64_t> &cols,
                                               int64_t m, int64_t n) {
  const int64_t b = blockSize;
  require(b > 0, "blocksparse: blockSize must be positive");
  require(m >= 0 && n >= 0 && m % b == 0 && n % b == 0,
          "blocksparse: m and n must be multiples of blockSize");
  require(rows.size() == cols.size(),
          "blocksparse: rows and cols must have the same length");
  const int64_t nnz = static_cast<int64_t>(rows.size());
  require(static_cast<int64_t>(blocks.size()) == nnz * b * b,
          "blocksparse: blocks must have nnz*b*b elements");
  DenseMatrix w(m, n);
  for (int64_t e = 0; e < nnz; ++e) {
    require(rows[e] >= 0 && rows[e] < m / b && cols[e] >= 0 && cols[e] < n / b,
            "blocksparse: block coordinate out of range");
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < b; ++j)
        w(rows[e] * b + i, cols[e] * b + j) += blocks[(e * b + i) * b + j];
  }
  return w;
}

DenseMatrix fly::reference::densifyButterfly(const std::vector<float> &twiddle,
                                             int64_t n) {
  require(n >= 1 && (n & (n - 1)) == 0, "butterfly: n must be a power of two");
  int64_t levels = 0;
  while ((int64_t{1} << levels) < n)
    ++levels;
  require(static_cast<int64_t>(twiddle.size()) == levels * (n / 2) * 4,
          "butterfly: twiddle must have log2(n) * n/2 * 4 elements");

  DenseMatrix w = identity(n);
  for (int64_t i = 0; i < levels; ++i) {
    const int64_t stride = int64_t{1} << i;
    DenseMatrix factor(n, n);
    for (int64_t t = 0; t < n / 2; ++t) {
      const int64_t a = (t / stride) * 2 * stride + t % stride;
      const int64_t bb = a + stride;
      const float *tw = &twiddle[static_cast<size_t>((i * (n / 2) + t) * 4)];
      factor(a, a) = tw[0];
      factor(a, bb) = tw[1];
      factor(bb, a) = tw[2];
      factor(bb, bb) = tw[3];
    }
    // Later factors act on the result of earlier ones: left-multiply.
    w = matmul(factor, w);
  }
  return w;
}

DenseMatrix fly::reference::densifySketch(const std::vector<float> &w,
                                          int64_t K, int64_t N,
                                          const SketchParams &p) {
  const int64_t R = p.reduction, BK = p.blockK, BN = p.blockN, V = p.vec;
  require(R > 0 && BK > 0 && BN > 0 && V > 0,
          "sketch: reduction, blockK, blockN and vec must be positive");
  require(K > 0 && N > 0, "sketch: K and N must be positive");
  require(K % (R * BK) == 0,
          "sketch: K must be a multiple of reduction*blockK");
  require(N % BN == 0, "sketch: N must be a multiple of blockN");
  for (int64_t seed : p.seeds)
    require(seed >= 0, "sketch: seeds must be non-negative");
  const int64_t reducedK = K / R;
  require(static_cast<int64_t>(w.size()) == reducedK * N,
          "sketch: w must have (K/R)*N elements");

  DenseMatrix dense(N, K);
  if (R == 1) {
    // No rotation at all (not even the seed-dependent one): y = x * w.
    for (int64_t kk = 0; kk < K; ++kk)
      for (int64_t col = 0; col < N; ++col)
        dense(col, kk) = w[kk * N + col];
    return dense;
  }

  const int64_t r0 = p.seeds[0], r1 = p.seeds[1], r2 = p.seeds[2],
                r3 = p.seeds[3];
  for (int64_t nb = 0; nb < N / BN; ++nb) {
    // sel[jj][kk] = coefficient of x[kk] in x~_nb[jj], i.e. the [K/R][K]
    // matrix of the reduction for this column block.
    DenseMatrix sel(reducedK, K);
    for (int64_t kb = 0; kb < K / (R * BK); ++kb)
      for (int64_t j = 0; j < BK; ++j)
        for (int64_t c = 0; c < R; ++c) {
          const int64_t shift =
              (r3 + r2 * nb + r1 * (kb + 1) + r0 * (c + 1)) * V;
          const int64_t src = (kb * R + c) * BK + positiveMod(j + shift, BK);
          sel(kb * BK + j, src) += 1.0;
        }
    // W[nb*BN+t][:] = sum_jj w[jj][nb*BN+t] * sel[jj][:].
    for (int64_t t = 0; t < BN; ++t) {
      const int64_t col = nb * BN + t;
      for (int64_t jj = 0; jj < reducedK; ++jj)
        for (int64_t kk = 0; kk < K; ++kk)
          dense(col, kk) += static_cast<double>(w[jj * N + col]) * sel(jj, kk);
    }
  }
  return dense;
}

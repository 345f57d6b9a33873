//===- Densify.h - Reference densification of fly matrices ------*- C++ -*-===//
//
// Independent, deliberately naive reference implementations that turn the
// parameters of each fly structured linear map into the equivalent dense
// matrix. They are the numerical oracle for the compiler's lowering, so they
// favour obviously-correct loops in double precision over speed.
//
// Conventions: every tensor is row-major and contiguous; a linear map is a
// matrix W[m][n] applied as y = x * W^T, i.e. y[b][i] = sum_j W[i][j] x[b][j].
//
// Argument preconditions are checked unconditionally (also in release builds)
// and a violation aborts with a message: a silently wrong oracle is worse than
// a crashing one.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_REFERENCE_DENSIFY_H
#define FLY_REFERENCE_DENSIFY_H

#include <cstdint>
#include <vector>

namespace fly::reference {

/// A dense row-major matrix of doubles.
struct DenseMatrix {
  int64_t rows = 0, cols = 0;
  /// Row-major storage, rows * cols entries.
  std::vector<double> data;

  DenseMatrix() = default;
  /// Creates a zero-initialised rows x cols matrix.
  DenseMatrix(int64_t r, int64_t c);

  double &operator()(int64_t r, int64_t c);
  double operator()(int64_t r, int64_t c) const;
};

/// Returns the matrix product a * b (a.cols must equal b.rows).
DenseMatrix matmul(const DenseMatrix &a, const DenseMatrix &b);

/// Returns the n x n identity matrix.
DenseMatrix identity(int64_t n);

/// y[b, :] = W · x[b, :] for a row-major x[batch][W.cols]; returns
/// [batch][W.rows].
std::vector<double> applyDense(const DenseMatrix &w,
                               const std::vector<float> &x, int64_t batch);

/// Monarch matrix with w1[k][q][p] and w2[l][s][r], k*p = n, l*r = k*q:
///   h[kk*q+qq] = sum_pp w1[kk][qq][pp] * x[kk*p+pp]
///   g[ll][rr]  = h[rr*l+ll]
///   y[ss*l+ll] = sum_rr w2[ll][ss][rr] * g[ll][rr]
/// Returns W of shape [l*s][k*p].
DenseMatrix densifyMonarch(const std::vector<float> &w1, int64_t k, int64_t q,
                           int64_t p, const std::vector<float> &w2, int64_t l,
                           int64_t s, int64_t r);

/// Low-rank map y = (x * u^T) * v^T with u[r][n], v[m][r]; returns W = v * u,
/// shape [m][n].
DenseMatrix densifyLowRank(const std::vector<float> &u, int64_t r, int64_t n,
                           const std::vector<float> &v, int64_t m);

/// Block-sparse map with blocks[nnz][b][b] at block coordinates
/// (rows[e], cols[e]) = (output block row, input block column):
///   y[rows[e]*b+i] += sum_j blocks[e][i][j] * x[cols[e]*b+j].
/// Repeated coordinates accumulate. Returns W of shape [m][n].
DenseMatrix densifyBlockSparse(const std::vector<float> &blocks,
                               int64_t blockSize,
                               const std::vector<int64_t> &rows,
                               const std::vector<int64_t> &cols, int64_t m,
                               int64_t n);

/// Butterfly product with twiddle[L][n/2][2][2], n = 2^L. Factor i (applied in
/// order i = 0 .. L-1, i.e. increasing stride) mixes, for each pair index t,
/// the entries a = (t / 2^i) * 2^(i+1) + t % 2^i and a + 2^i with the 2x2
/// matrix twiddle[i][t]. Returns W = F_{L-1} ... F_0, shape [n][n].
DenseMatrix densifyButterfly(const std::vector<float> &twiddle, int64_t n);

/// Parameters of the SS1 sketch: R = reduction, BK = blockK, BN = blockN,
/// V = vec and the rotation seeds r0..r3.
struct SketchParams {
  int64_t reduction = 1, blockK = 1, blockN = 1, vec = 1;
  int64_t seeds[4] = {0, 0, 0, 0};
};

/// SS1 sketch with w stored [K/R][N] (y = x~ * w). For R == 1 this is plain
/// y = x * w. Otherwise, for output column block nb and reduced block kb,
///   x~_nb[kb*BK+j] = sum_{c<R} x[(kb*R+c)*BK +
///                     ((j + (r3 + r2*nb + r1*(kb+1) + r0*(c+1))*V) mod BK)]
///   y[nb*BN+t] = sum_jj x~_nb[jj] * w[jj][nb*BN+t].
/// Returns W of shape [N][K].
DenseMatrix densifySketch(const std::vector<float> &w, int64_t K, int64_t N,
                          const SketchParams &p);

} // namespace fly::reference

#endif // FLY_REFERENCE_DENSIFY_H

//===- Projection.h - Project dense weights onto structures -----*- C++ -*-===//
//
// Turns a dense weight into the parameters of a structured linear map
// (Monarch, low-rank, Pixelfly) that approximates it, and draws random
// parameters of the same shapes. Plain C++17 with no MLIR dependency, so that
// both the structure-replacement pass and the unit tests can use it; the
// linear algebra (SVD) lives in the .cpp so that Eigen stays out of this
// header.
//
// Convention (the fly.linear one): a dense weight W is row-major [out][in]
// and is applied as y = x * W^T, i.e. y[i] = sum_j W[i][j] x[j].
//
//===----------------------------------------------------------------------===//

#ifndef FLY_STRUCTURE_PROJECTION_H
#define FLY_STRUCTURE_PROJECTION_H

#include "fly/Structure/PixelflyLayout.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fly::structure {

//===----------------------------------------------------------------------===//
// Monarch
//===----------------------------------------------------------------------===//

/// fly.monarch_matmul factors: w1 [k][q][p], w2 [l][s][r] (row-major), with
/// k*p = inExt, l*r = k*q and l*s = outExt. inExt/outExt are in/out rounded
/// up to multiples of the number of blocks: the op is applied to x
/// zero-padded to inExt and its result is cropped to out.
struct MonarchFactors {
  int64_t k = 0, q = 0, p = 0, l = 0, s = 0, r = 0, in = 0, out = 0, inExt = 0,
          outExt = 0;
  std::vector<float> w1, w2;
};

/// Fills the shape fields of `f` (and clears w1/w2) with the shapes of a
/// MonarchLinear layer of the research code: nb = nblocks,
/// blk_in = ceil(in/nb), blk_out = ceil(out/nb); if in_ext < out_ext,
/// w1 = [nb, blk_in, blk_in] and w2 = [nb, blk_out, blk_in], else
/// w1 = [nb, blk_out, blk_in] and w2 = [nb, blk_out, blk_out].
/// Returns false and sets `error` if out or in < 1 or nblocks is not in
/// [1, min(in, out)].
bool monarchShape(int64_t out, int64_t in, int64_t nblocks, MonarchFactors &f,
                  std::string &error);

/// The best approximation (in Frobenius norm, over the [out][in] part that
/// the layer can see) of W [out][in] by a Monarch matrix with
/// monarchShape's shapes. Every block (ll, kk) of the dense Monarch matrix
/// (rows ss*l+ll, columns kk*p+pp) is a product of its own, disjoint slices
/// of w1 and w2 of inner dimension R(ll, kk); the projection is the rank-R
/// truncated SVD of W's block, so the result is optimal (Eckart-Young per
/// block). Fills `f`; returns false and sets `error` on invalid shapes.
bool projectMonarch(const float *w, int64_t out, int64_t in, int64_t nblocks,
                    MonarchFactors &f, std::string &error);

/// Fills f.w1/f.w2 (for the shape fields already set, e.g. by monarchShape)
/// with seeded N(0, sigma^2) entries scaled so that each entry of the dense
/// product has variance about 1/in, like a dense layer with N(0, 1/in)
/// entries. Deterministic across platforms for a given seed.
void randomMonarch(MonarchFactors &f, uint64_t seed);

//===----------------------------------------------------------------------===//
// Low rank
//===----------------------------------------------------------------------===//

/// fly.lowrank_matmul factors: y = (x u^T) v^T, i.e. W = v * u.
struct LowRankFactors {
  int64_t rank = 0, in = 0, out = 0;
  std::vector<float> u /*[rank][in]*/, v /*[out][rank]*/;
};

/// Truncated SVD W ~= U_r S_r V_r^T, split as v = U_r sqrt(S_r),
/// u = sqrt(S_r) V_r^T (balanced factors). Optimal in Frobenius norm
/// (Eckart-Young). Returns false and sets `error` unless
/// 1 <= rank <= min(out, in).
bool projectLowRank(const float *w, int64_t out, int64_t in, int64_t rank,
                    LowRankFactors &f, std::string &error);

/// Fills f.u/f.v (for f.rank, f.in, f.out already set) with seeded Gaussian
/// entries, u ~ N(0, 1/in) and v ~ N(0, 1/rank), so that each entry of v * u
/// has variance 1/in. Deterministic across platforms for a given seed.
void randomLowRank(LowRankFactors &f, uint64_t seed);

//===----------------------------------------------------------------------===//
// Pixelfly (block-sparse on the flat block butterfly layout + low rank)
//===----------------------------------------------------------------------===//

/// A fly.blocksparse_matmul on `layout` (blocks [nnz][b][b], block e at
/// (layout.rows[e], layout.cols[e])) plus a fly.lowrank_matmul, summed.
/// lowRank.rank == 0 means there is no low-rank part (u, v empty).
struct PixelflyFactors {
  BlockLayout layout;
  int64_t blockSize = 0;
  std::vector<float> blocks /*[nnz][b][b]*/;
  LowRankFactors lowRank;
};

/// Projects W [out][in] onto "block-sparse on flatBlockButterflyLayout(out,
/// in, blockSize, butterflySize, nFactors) + rank `rank`". This is a
/// heuristic, not the optimum (which is a matrix-completion problem):
///   L = rank-`rank` truncated SVD of W with the layout's blocks zeroed,
///   S = (W - L) on the layout,
/// so S + L equals W exactly on the layout and equals L off it; the error is
/// at most the Eckart-Young error of the off-layout part. W = S0 + L0 is
/// recovered exactly when L0 is zero on the layout and has rank <= `rank`
/// (e.g. L0 = 0), not for a general low-rank L0. rank 0 gives S = W on the
/// layout. Returns false and sets `error` on invalid layout arguments or
/// rank outside [0, min(out, in)].
bool projectPixelfly(const float *w, int64_t out, int64_t in, int64_t blockSize,
                     int64_t butterflySize, int64_t nFactors, int64_t rank,
                     PixelflyFactors &f, std::string &error);

//===----------------------------------------------------------------------===//
// Error measure
//===----------------------------------------------------------------------===//

/// ||W - A||_F / ||W||_F for W [out][in] and a dense approximation A of the
/// same shape (row-major), accumulated in double. If W is zero, returns
/// ||A||_F (the absolute error) instead.
double relativeFrobeniusError(const float *w, const std::vector<double> &approx,
                              int64_t out, int64_t in);

} // namespace fly::structure

#endif // FLY_STRUCTURE_PROJECTION_H

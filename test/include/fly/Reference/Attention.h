//===- Attention.h - Reference attention variants for fly -------*- C++ -*-===//
//
// Naive double-precision reference implementations of exact, local (sliding
// window), Performer (random-feature) and Scatterbrain (local + low-rank)
// attention. They are the numerical oracle for the lowering of the fly
// attention ops, so they are written straight from the formulas.
//
// Layouts (row-major): q[B][H][T][D], k[B][H][S][D], v[B][H][S][Dv]; every
// function returns [B][H][T][Dv].
//
// Causality is bottom-right aligned: query i may see key j iff
// j <= i + (S - T), which requires S >= T.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_REFERENCE_ATTENTION_H
#define FLY_REFERENCE_ATTENTION_H

#include <cstdint>
#include <vector>

namespace fly::reference {

struct AttentionShape {
  int64_t batch, heads, queryLen /*T*/, keyLen /*S*/, headDim /*D*/,
      valueDim /*Dv*/;
};

/// Exact softmax attention with scores s_ij = scale * q_i . k_j (+ mask).
/// q[B][H][T][D], k[B][H][S][D], v[B][H][S][Dv]; returns [B][H][T][Dv].
/// mask: optional additive mask (nullptr = none) of shape maskShape (rank
/// 0..4), broadcast numpy-style (right-aligned) to [B][H][T][S]; each mask
/// dimension must be 1 or equal to the broadcast dimension. Entries may be
/// -inf; a row whose allowed scores are all -inf yields NaN.
std::vector<double>
attention(const std::vector<float> &q, const std::vector<float> &k,
          const std::vector<float> &v, const AttentionShape &shape,
          double scale, bool causal, const std::vector<float> *mask = nullptr,
          const std::vector<int64_t> &maskShape = {});

/// Sliding-window attention (requires S == T) with exact softmax over the
/// allowed keys: j in [i - w/2, i - w/2 + w) when non-causal (w/2 rounds
/// down), j in (i - w, i] when causal, both clipped to [0, S).
std::vector<double> localAttention(const std::vector<float> &q,
                                   const std::vector<float> &k,
                                   const std::vector<float> &v,
                                   const AttentionShape &shape, double scale,
                                   int64_t window, bool causal);

/// Performer (FAVOR+) attention with positive random features.
/// proj[m][D] holds the m = features projection vectors omega_f. With
/// x~ = x * sqrt(scale), phi(x)_f = m^-1/2 * exp(omega_f . x~ - |x~|^2 / 2),
/// and out_i = sum_j (phi(q_i).phi(k_j)) v_j / sum_j phi(q_i).phi(k_j), the
/// sums restricted to j <= i + (S - T) when causal.
std::vector<double>
performerAttention(const std::vector<float> &q, const std::vector<float> &k,
                   const std::vector<float> &v, const std::vector<float> &proj,
                   int64_t features, const AttentionShape &shape, double scale,
                   bool causal);

/// Scatterbrain attention (requires S == T): exact scores inside the local
/// window W(i) of localAttention, Performer features elsewhere in the allowed
/// set A(i) (all keys, or j <= i when causal). With e_ij = exp(s_ij) and
/// f_ij = phi(q_i).phi(k_j):
///   out_i = [sum_{W(i)} (e_ij - f_ij) v_j + sum_{A(i)} f_ij v_j]
///         / [sum_{W(i)} (e_ij - f_ij)     + sum_{A(i)} f_ij].
std::vector<double>
scatterbrainAttention(const std::vector<float> &q, const std::vector<float> &k,
                      const std::vector<float> &v,
                      const std::vector<float> &proj, int64_t features,
                      const AttentionShape &shape, double scale, int64_t window,
                      bool causal);

} // namespace fly::reference

#endif // FLY_REFERENCE_ATTENTION_H

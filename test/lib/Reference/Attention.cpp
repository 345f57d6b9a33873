//===- Attention.cpp - Reference attention variants for fly -----*- C++ -*-===//
//
// Every variant works one (batch, head) pair and one query row at a time and
// spells out which keys are allowed, so the masking rules can be read off
// directly. All arithmetic is in double.
//
//===----------------------------------------------------------------------===//

#include "fly/Reference/Attention.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

using namespace fly::reference;

namespace {
/// Aborts with a message when a precondition fails. Always active (unlike
/// assert) so a misused oracle cannot silently read out of bounds.
void require(bool cond, const char *what) {
  if (cond)
    return;
  std::fprintf(stderr, "fly::reference (Attention): precondition failed: %s\n",
               what);
  std::abort();
}

void checkInputs(const std::vector<float> &q, const std::vector<float> &k,
                 const std::vector<float> &v, const AttentionShape &sh) {
  require(sh.batch > 0 && sh.heads > 0 && sh.queryLen > 0 && sh.keyLen > 0 &&
              sh.headDim > 0 && sh.valueDim > 0,
          "all attention dimensions must be positive");
  const int64_t bh = sh.batch * sh.heads;
  require(static_cast<int64_t>(q.size()) == bh * sh.queryLen * sh.headDim,
          "q must have B*H*T*D elements");
  require(static_cast<int64_t>(k.size()) == bh * sh.keyLen * sh.headDim,
          "k must have B*H*S*D elements");
  require(static_cast<int64_t>(v.size()) == bh * sh.keyLen * sh.valueDim,
          "v must have B*H*S*Dv elements");
}

/// Bottom-right aligned causal rule: query i sees key j iff j <= i + (S - T).
bool causalAllows(int64_t i, int64_t j, const AttentionShape &sh) {
  return j <= i + (sh.keyLen - sh.queryLen);
}

/// Local window rule shared by local and Scatterbrain attention (S == T).
bool windowAllows(int64_t i, int64_t j, int64_t window, bool causal) {
  if (causal)
    return j > i - window && j <= i;
  const int64_t lo = i - window / 2;
  return j >= lo && j < lo + window;
}

/// Pointer to row `row` of a [B][H][len][dim] tensor for head slice `bh`.
const float *rowPtr(const std::vector<float> &t, int64_t bh, int64_t len,
                    int64_t dim, int64_t row) {
  return &t[static_cast<size_t>((bh * len + row) * dim)];
}

/// Raw score scale * q_i . k_j for head slice bh.
double score(const std::vector<float> &q, const std::vector<float> &k,
             const AttentionShape &sh, int64_t bh, int64_t i, int64_t j,
             double scale) {
  const float *qi = rowPtr(q, bh, sh.queryLen, sh.headDim, i);
  const float *kj = rowPtr(k, bh, sh.keyLen, sh.headDim, j);
  double dot = 0.0;
  for (int64_t d = 0; d < sh.headDim; ++d)
    dot += static_cast<double>(qi[d]) * static_cast<double>(kj[d]);
  return scale * dot;
}

/// Writes out = sum_j exp(logit_j) v_j / sum_j exp(logit_j) over the allowed
/// keys. The row maximum is subtracted first; it cancels in the ratio.
void softmaxAverage(const std::vector<double> &logits,
                    const std::vector<bool> &allowed,
                    const std::vector<float> &v, const AttentionShape &sh,
                    int64_t bh, double *out) {
  double maxLogit = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < sh.keyLen; ++j)
    if (allowed[j])
      maxLogit = std::max(maxLogit, logits[j]);
  double den = 0.0;
  std::vector<double> num(static_cast<size_t>(sh.valueDim), 0.0);
  for (int64_t j = 0; j < sh.keyLen; ++j) {
    if (!allowed[j])
      continue;
    const double p = std::exp(logits[j] - maxLogit);
    den += p;
    const float *vj = rowPtr(v, bh, sh.keyLen, sh.valueDim, j);
    for (int64_t e = 0; e < sh.valueDim; ++e)
      num[e] += p * static_cast<double>(vj[e]);
  }
  for (int64_t e = 0; e < sh.valueDim; ++e)
    out[e] = num[e] / den;
}

/// Returns log phi(x)_f for every row of a [B][H][len][D] tensor:
/// -log(m)/2 + omega_f . x~ - |x~|^2/2 with x~ = x * sqrt(scale). Result is
/// [B*H*len][m]. Kept in log space so that products of features can be summed
/// with log-sum-exp.
std::vector<double> logFeatures(const std::vector<float> &x, int64_t rows,
                                const std::vector<float> &proj,
                                int64_t features, int64_t dim, double scale) {
  const double rootScale = std::sqrt(scale);
  const double logNorm = -0.5 * std::log(static_cast<double>(features));
  std::vector<double> out(static_cast<size_t>(rows * features));
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = &x[static_cast<size_t>(r * dim)];
    double sq = 0.0;
    for (int64_t d = 0; d < dim; ++d) {
      const double xt = rootScale * static_cast<double>(xr[d]);
      sq += xt * xt;
    }
    for (int64_t f = 0; f < features; ++f) {
      double dot = 0.0;
      for (int64_t d = 0; d < dim; ++d)
        dot += static_cast<double>(proj[static_cast<size_t>(f * dim + d)]) *
               rootScale * static_cast<double>(xr[d]);
      out[static_cast<size_t>(r * features + f)] = logNorm + dot - 0.5 * sq;
    }
  }
  return out;
}

/// log(phi(q_i) . phi(k_j)) for every (i, j) of head slice bh, [T][S].
std::vector<double> logKernel(const std::vector<double> &logQ,
                              const std::vector<double> &logK,
                              const AttentionShape &sh, int64_t bh,
                              int64_t features) {
  std::vector<double> out(static_cast<size_t>(sh.queryLen * sh.keyLen));
  std::vector<double> terms(static_cast<size_t>(features));
  for (int64_t i = 0; i < sh.queryLen; ++i) {
    const double *lq =
        &logQ[static_cast<size_t>((bh * sh.queryLen + i) * features)];
    for (int64_t j = 0; j < sh.keyLen; ++j) {
      const double *lk =
          &logK[static_cast<size_t>((bh * sh.keyLen + j) * features)];
      double maxTerm = -std::numeric_limits<double>::infinity();
      for (int64_t f = 0; f < features; ++f) {
        terms[f] = lq[f] + lk[f];
        maxTerm = std::max(maxTerm, terms[f]);
      }
      double sum = 0.0;
      for (int64_t f = 0; f < features; ++f)
        sum += std::exp(terms[f] - maxTerm);
      out[static_cast<size_t>(i * sh.keyLen + j)] = maxTerm + std::log(sum);
    }
  }
  return out;
}

void checkProjection(const std::vector<float> &proj, int64_t features,
                     const AttentionShape &sh, double scale) {
  require(features > 0, "features must be positive");
  require(static_cast<int64_t>(proj.size()) == features * sh.headDim,
          "proj must have features*D elements");
  require(scale >= 0.0, "feature-map attention needs a non-negative scale");
}
} // namespace

std::vector<double> fly::reference::attention(
    const std::vector<float> &q, const std::vector<float> &k,
    const std::vector<float> &v, const AttentionShape &shape, double scale,
    bool causal, const std::vector<float> *mask,
    const std::vector<int64_t> &maskShape) {
  const AttentionShape &sh = shape;
  checkInputs(q, k, v, sh);
  if (causal)
    require(sh.keyLen >= sh.queryLen, "causal attention requires S >= T");

  // Broadcast strides of the mask over [B][H][T][S]; a size-1 (or missing,
  // left-padded) mask dimension gets stride 0.
  int64_t maskStride[4] = {0, 0, 0, 0};
  if (mask) {
    require(maskShape.size() <= 4, "mask rank must be at most 4");
    const int64_t full[4] = {sh.batch, sh.heads, sh.queryLen, sh.keyLen};
    int64_t padded[4] = {1, 1, 1, 1};
    const size_t offset = 4 - maskShape.size();
    for (size_t d = 0; d < maskShape.size(); ++d)
      padded[offset + d] = maskShape[d];
    int64_t stride = 1;
    for (int d = 3; d >= 0; --d) {
      require(padded[d] == 1 || padded[d] == full[d],
              "mask dimension must be 1 or match [B][H][T][S]");
      maskStride[d] = padded[d] == 1 ? 0 : stride;
      stride *= padded[d];
    }
    require(static_cast<int64_t>(mask->size()) == stride,
            "mask size must match maskShape");
  }

  std::vector<double> out(
      static_cast<size_t>(sh.batch * sh.heads * sh.queryLen * sh.valueDim));
  std::vector<double> logits(static_cast<size_t>(sh.keyLen));
  std::vector<bool> allowed(static_cast<size_t>(sh.keyLen));
  for (int64_t b = 0; b < sh.batch; ++b)
    for (int64_t h = 0; h < sh.heads; ++h) {
      const int64_t bh = b * sh.heads + h;
      for (int64_t i = 0; i < sh.queryLen; ++i) {
        for (int64_t j = 0; j < sh.keyLen; ++j) {
          logits[j] = score(q, k, sh, bh, i, j, scale);
          if (mask)
            logits[j] += (*mask)[static_cast<size_t>(
                b * maskStride[0] + h * maskStride[1] + i * maskStride[2] +
                j * maskStride[3])];
          allowed[j] = !causal || causalAllows(i, j, sh);
        }
        softmaxAverage(
            logits, allowed, v, sh, bh,
            &out[static_cast<size_t>((bh * sh.queryLen + i) * sh.valueDim)]);
      }
    }
  return out;
}

std::vector<double> fly::reference::localAttention(const std::vector<float> &q,
                                                   const std::vector<float> &k,
                                                   const std::vector<float> &v,
                                                   const AttentionShape &shape,
                                                   double scale, int64_t window,
                                                   bool causal) {
  const AttentionShape &sh = shape;
  checkInputs(q, k, v, sh);
  require(sh.keyLen == sh.queryLen, "local attention requires S == T");
  require(window > 0, "local attention window must be positive");

  std::vector<double> out(
      static_cast<size_t>(sh.batch * sh.heads * sh.queryLen * sh.valueDim));
  std::vector<double> logits(static_cast<size_t>(sh.keyLen));
  std::vector<bool> allowed(static_cast<size_t>(sh.keyLen));
  for (int64_t bh = 0; bh < sh.batch * sh.heads; ++bh)
    for (int64_t i = 0; i < sh.queryLen; ++i) {
      for (int64_t j = 0; j < sh.keyLen; ++j) {
        logits[j] = score(q, k, sh, bh, i, j, scale);
        allowed[j] = windowAllows(i, j, window, causal);
      }
      softmaxAverage(
          logits, allowed, v, sh, bh,
          &out[static_cast<size_t>((bh * sh.queryLen + i) * sh.valueDim)]);
    }
  return out;
}

std::vector<double> fly::reference::performerAttention(
    const std::vector<float> &q, const std::vector<float> &k,
    const std::vector<float> &v, const std::vector<float> &proj,
    int64_t features, const AttentionShape &shape, double scale, bool causal) {
  const AttentionShape &sh = shape;
  checkInputs(q, k, v, sh);
  checkProjection(proj, features, sh, scale);
  if (causal)
    require(sh.keyLen >= sh.queryLen, "causal attention requires S >= T");

  const int64_t bhCount = sh.batch * sh.heads;
  const std::vector<double> logQ =
      logFeatures(q, bhCount * sh.queryLen, proj, features, sh.headDim, scale);
  const std::vector<double> logK =
      logFeatures(k, bhCount * sh.keyLen, proj, features, sh.headDim, scale);

  std::vector<double> out(
      static_cast<size_t>(bhCount * sh.queryLen * sh.valueDim));
  std::vector<double> logits(static_cast<size_t>(sh.keyLen));
  std::vector<bool> allowed(static_cast<size_t>(sh.keyLen));
  for (int64_t bh = 0; bh < bhCount; ++bh) {
    // The kernel weights f_ij are positive, so out_i is a softmax over
    // log f_ij; that form is numerically stable and mathematically identical.
    const std::vector<double> logF = logKernel(logQ, logK, sh, bh, features);
    for (int64_t i = 0; i < sh.queryLen; ++i) {
      for (int64_t j = 0; j < sh.keyLen; ++j) {
        logits[j] = logF[static_cast<size_t>(i * sh.keyLen + j)];
        allowed[j] = !causal || causalAllows(i, j, sh);
      }
      softmaxAverage(
          logits, allowed, v, sh, bh,
          &out[static_cast<size_t>((bh * sh.queryLen + i) * sh.valueDim)]);
    }
  }
  return out;
}

std::vector<double> fly::reference::scatterbrainAttention(
    const std::vector<float> &q, const std::vector<float> &k,
    const std::vector<float> &v, const std::vector<float> &proj,
    int64_t features, const AttentionShape &shape, double scale, int64_t window,
    bool causal) {
  const AttentionShape &sh = shape;
  checkInputs(q, k, v, sh);
  checkProjection(proj, features, sh, scale);
  require(sh.keyLen == sh.queryLen, "scatterbrain attention requires S == T");
  require(window > 0, "scatterbrain window must be positive");

  const int64_t bhCount = sh.batch * sh.heads;
  const std::vector<double> logQ =
      logFeatures(q, bhCount * sh.queryLen, proj, features, sh.headDim, scale);
  const std::vector<double> logK =
      logFeatures(k, bhCount * sh.keyLen, proj, features, sh.headDim, scale);

  std::vector<double> out(
      static_cast<size_t>(bhCount * sh.queryLen * sh.valueDim));
  std::vector<double> scores(static_cast<size_t>(sh.keyLen));
  std::vector<double> num(static_cast<size_t>(sh.valueDim));
  for (int64_t bh = 0; bh < bhCount; ++bh) {
    const std::vector<double> logF = logKernel(logQ, logK, sh, bh, features);
    for (int64_t i = 0; i < sh.queryLen; ++i) {
      const double *logFi = &logF[static_cast<size_t>(i * sh.keyLen)];
      // A(i): every key, or j <= i when causal (S == T here).
      auto inA = [&](int64_t j) { return !causal || j <= i; };

      // Stabiliser c_i = max over A(i) of max(s_ij, log f_ij); multiplying
      // numerator and denominator by exp(-c_i) cancels exactly.
      double c = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < sh.keyLen; ++j) {
        scores[j] = score(q, k, sh, bh, i, j, scale);
        if (inA(j))
          c = std::max(c, std::max(scores[j], logFi[j]));
      }

      double den = 0.0;
      std::fill(num.begin(), num.end(), 0.0);
      for (int64_t j = 0; j < sh.keyLen; ++j) {
        if (!inA(j))
          continue;
        const double f = std::exp(logFi[j] - c);
        // Inside the window the low-rank estimate is replaced by the exact
        // term: (e - f) + f = e. Outside only the estimate f contributes.
        double weight = f;
        if (windowAllows(i, j, window, causal))
          weight += std::exp(scores[j] - c) - f;
        den += weight;
        const float *vj = rowPtr(v, bh, sh.keyLen, sh.valueDim, j);
        for (int64_t e = 0; e < sh.valueDim; ++e)
          num[e] += weight * static_cast<double>(vj[e]);
      }
      double *outRow =
          &out[static_cast<size_t>((bh * sh.queryLen + i) * sh.valueDim)];
      for (int64_t e = 0; e < sh.valueDim; ++e)
        outRow[e] = num[e] / den;
    }
  }
  return out;
}

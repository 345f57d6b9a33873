//===- RandomFeatures.h - Seeded Gaussian and random features ---*- C++ -*-===//
//
// Seeded random numbers that do not depend on the standard library's
// distributions (whose outputs differ between implementations), and the
// Gaussian orthogonal random features of the Performer (Choromanski et al.,
// 2021). Plain C++ so that the passes and the numerical tests draw exactly
// the same features from a seed.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_STRUCTURE_RANDOMFEATURES_H
#define FLY_STRUCTURE_RANDOMFEATURES_H

#include <cstdint>
#include <vector>

namespace fly::structure {

/// SplitMix64 bits and Box-Muller standard normals. The same seed gives the
/// same sequence on every platform and standard library.
class RandomStream {
public:
  explicit RandomStream(uint64_t seed) : state(seed) {}

  /// The next 64 random bits.
  uint64_t nextBits();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  /// Standard normal N(0, 1).
  double normal();

private:
  uint64_t state;
  double spare = 0;
  bool hasSpare = false;
};

/// Gaussian orthogonal random features: `features` rows of dimension `dim`,
/// row-major [features][dim]. Rows come in blocks of `dim` mutually
/// orthogonal unit vectors (Gram-Schmidt on the rows of a Gaussian matrix,
/// i.e. a Haar-random orthogonal matrix; the last block is truncated), and
/// each row is then scaled by the norm of an independent Gaussian
/// dim-vector, so that every row is marginally N(0, I) as the Performer's
/// unbiased softmax-kernel estimator needs, with less variance than i.i.d.
/// rows. Requires features >= 0 and dim > 0.
std::vector<float> gaussianOrthogonalFeatures(int64_t features, int64_t dim,
                                              uint64_t seed);

} // namespace fly::structure

#endif // FLY_STRUCTURE_RANDOMFEATURES_H

//===- RandomFeatures.cpp - Seeded Gaussian and random features -*- C++ -*-===//
//
// Orthogonalisation is modified Gram-Schmidt, run twice per row
// ("twice is enough"): the blocks are at most a head dimension wide, so the
// simple method is exact to float precision and needs no linear algebra
// library.
//
//===----------------------------------------------------------------------===//

#include "fly/Structure/RandomFeatures.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

using namespace fly::structure;

uint64_t RandomStream::nextBits() {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double RandomStream::uniform() {
  return static_cast<double>(nextBits() >> 11) * 0x1.0p-53;
}

double RandomStream::normal() {
  if (hasSpare) {
    hasSpare = false;
    return spare;
  }
  // 1 - uniform() is in (0, 1], so the logarithm is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));
  const double angle = 2.0 * M_PI * uniform();
  spare = radius * std::sin(angle);
  hasSpare = true;
  return radius * std::cos(angle);
}

std::vector<float> fly::structure::gaussianOrthogonalFeatures(int64_t features,
                                                              int64_t dim,
                                                              uint64_t seed) {
  const size_t d = static_cast<size_t>(dim);
  std::vector<float> out(static_cast<size_t>(features) * d);
  RandomStream rng(seed);
  std::vector<double> block(d * d);
  for (int64_t first = 0; first < features; first += dim) {
    for (double &x : block)
      x = rng.normal();
    // Rows of a Gaussian matrix are linearly independent with probability
    // one; a (numerically) dependent row is redrawn rather than divided by
    // a tiny norm.
    for (size_t i = 0; i < d; ++i) {
      double *row = &block[i * d];
      for (;;) {
        for (int pass = 0; pass < 2; ++pass)
          for (size_t j = 0; j < i; ++j) {
            const double *prev = &block[j * d];
            double dot = 0;
            for (size_t c = 0; c < d; ++c)
              dot += row[c] * prev[c];
            for (size_t c = 0; c < d; ++c)
              row[c] -= dot * prev[c];
          }
        double norm = 0;
        for (size_t c = 0; c < d; ++c)
          norm += row[c] * row[c];
        norm = std::sqrt(norm);
        if (norm > 1e-6) {
          for (size_t c = 0; c < d; ++c)
            row[c] /= norm;
          break;
        }
        for (size_t c = 0; c < d; ++c)
          row[c] = rng.normal();
      }
    }
    const int64_t rows = std::min<int64_t>(dim, features - first);
    for (int64_t i = 0; i < rows; ++i) {
      double length = 0;
      for (size_t c = 0; c < d; ++c) {
        const double g = rng.normal();
        length += g * g;
      }
      length = std::sqrt(length);
      for (size_t c = 0; c < d; ++c)
        out[static_cast<size_t>(first + i) * d + c] =
            static_cast<float>(block[static_cast<size_t>(i) * d + c] * length);
    }
  }
  return out;
}

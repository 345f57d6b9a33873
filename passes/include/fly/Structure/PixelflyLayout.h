//===- PixelflyLayout.h - Flat block butterfly layouts ----------*- C++ -*-===//
//
// Computes which blocks of a matrix are kept by the Pixelfly "flat block
// butterfly" sparsity pattern (optionally plus global rows/columns). Plain
// C++ so that both compiler passes and the numerical tests can use it.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_STRUCTURE_PIXELFLYLAYOUT_H
#define FLY_STRUCTURE_PIXELFLYLAYOUT_H

#include <cstdint>
#include <string>
#include <vector>

namespace fly::structure {

/// The kept blocks of a block-sparse matrix with blockRows x blockCols
/// blocks. (rows[e], cols[e]) is the block coordinate of kept block e; the
/// entries are unique and sorted row-major (by row, then column).
struct BlockLayout {
  int64_t blockRows = 0, blockCols = 0;
  std::vector<int64_t> rows, cols;
};

/// Flat block butterfly layout of a [m][n] matrix in blocks of blockSize.
///
/// The base pattern P is butterflySize x butterflySize (S, a power of two):
/// P[a][c] = 1 iff a == c or a XOR c == 2^i for some i < nFactors. P is
/// stretched over the matrix by mapping element (y, x) to cell
/// (floor(y*S/m), floor(x*S/n)); a block is kept iff any of its elements maps
/// to a set cell. The first globalSize block rows and block columns are kept
/// entirely.
///
/// Precondition: the arguments are valid, i.e.
/// validateFlatBlockButterflyArgs returns an empty string for them. Invalid
/// arguments are not diagnosed here.
BlockLayout flatBlockButterflyLayout(int64_t m, int64_t n, int64_t blockSize,
                                     int64_t butterflySize, int64_t nFactors,
                                     int64_t globalSize = 0);

/// Returns an error message (empty if OK) for invalid arguments instead of
/// asserting, so that callers (e.g. op verifiers) can report it.
std::string validateFlatBlockButterflyArgs(int64_t m, int64_t n,
                                           int64_t blockSize,
                                           int64_t butterflySize,
                                           int64_t nFactors,
                                           int64_t globalSize);

} // namespace fly::structure

#endif // FLY_STRUCTURE_PIXELFLYLAYOUT_H

//===- PixelflyLayout.cpp - Flat block butterfly layouts --------*- C++ -*-===//
//
// The layout is computed per block from the set of pattern rows and pattern
// columns its elements map to, which avoids visiting every matrix element
// while staying exact even when the matrix is smaller than the pattern (and
// the stretch therefore skips pattern cells).
//
//===----------------------------------------------------------------------===//

#include "fly/Structure/PixelflyLayout.h"

#include <string>

using namespace fly::structure;

namespace {
bool isPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

int64_t log2Exact(int64_t v) {
  int64_t l = 0;
  while ((int64_t{1} << l) < v)
    ++l;
  return l;
}

/// Whether base pattern cell (a, c) is set: the diagonal plus the butterfly
/// partners at distance 2^i for the first nFactors factors.
bool patternCell(int64_t a, int64_t c, int64_t nFactors) {
  const int64_t x = a ^ c;
  if (x == 0)
    return true;
  for (int64_t i = 0; i < nFactors; ++i)
    if (x == (int64_t{1} << i))
      return true;
  return false;
}

/// For every block along a dimension of `extent` elements, the distinct
/// pattern indices its elements map to under floor(e * S / extent). The map
/// is monotone, so consecutive duplicates are the only duplicates.
std::vector<std::vector<int64_t>>
cellsPerBlock(int64_t extent, int64_t blockSize, int64_t butterflySize) {
  std::vector<std::vector<int64_t>> cells(
      static_cast<size_t>(extent / blockSize));
  for (int64_t blk = 0; blk < extent / blockSize; ++blk) {
    std::vector<int64_t> &list = cells[static_cast<size_t>(blk)];
    for (int64_t e = blk * blockSize; e < (blk + 1) * blockSize; ++e) {
      const int64_t cell = e * butterflySize / extent;
      if (list.empty() || list.back() != cell)
        list.push_back(cell);
      // At most S distinct cells exist; stop scanning once all were seen.
      if (static_cast<int64_t>(list.size()) == butterflySize)
        break;
    }
  }
  return cells;
}
} // namespace

BlockLayout fly::structure::flatBlockButterflyLayout(int64_t m, int64_t n,
                                                     int64_t blockSize,
                                                     int64_t butterflySize,
                                                     int64_t nFactors,
                                                     int64_t globalSize) {
  BlockLayout layout;
  layout.blockRows = m / blockSize;
  layout.blockCols = n / blockSize;
  const auto rowCells = cellsPerBlock(m, blockSize, butterflySize);
  const auto colCells = cellsPerBlock(n, blockSize, butterflySize);

  for (int64_t r = 0; r < layout.blockRows; ++r)
    for (int64_t c = 0; c < layout.blockCols; ++c) {
      bool keep = r < globalSize || c < globalSize;
      for (int64_t a : rowCells[static_cast<size_t>(r)]) {
        if (keep)
          break;
        for (int64_t b : colCells[static_cast<size_t>(c)])
          if (patternCell(a, b, nFactors)) {
            keep = true;
            break;
          }
      }
      // Iterating r then c yields the row-major order directly.
      if (keep) {
        layout.rows.push_back(r);
        layout.cols.push_back(c);
      }
    }
  return layout;
}

std::string fly::structure::validateFlatBlockButterflyArgs(
    int64_t m, int64_t n, int64_t blockSize, int64_t butterflySize,
    int64_t nFactors, int64_t globalSize) {
  using std::to_string;
  if (m <= 0 || n <= 0)
    return "matrix dimensions must be positive, got m = " + to_string(m) +
           ", n = " + to_string(n);
  if (blockSize <= 0)
    return "blockSize must be positive, got " + to_string(blockSize);
  if (m % blockSize != 0 || n % blockSize != 0)
    return "matrix dimensions m = " + to_string(m) + ", n = " + to_string(n) +
           " must be divisible by blockSize = " + to_string(blockSize);
  if (!isPowerOfTwo(butterflySize))
    return "butterflySize must be a positive power of two, got " +
           to_string(butterflySize);
  const int64_t maxFactors = log2Exact(butterflySize);
  if (nFactors < 0 || nFactors > maxFactors)
    return "nFactors = " + to_string(nFactors) + " must be in [0, " +
           to_string(maxFactors) +
           "] (log2 of butterflySize = " + to_string(butterflySize) + ")";
  const int64_t blockRows = m / blockSize, blockCols = n / blockSize;
  if (globalSize < 0 || globalSize > blockRows || globalSize > blockCols)
    return "globalSize = " + to_string(globalSize) +
           " must be in [0, min(block rows = " + to_string(blockRows) +
           ", block cols = " + to_string(blockCols) + ")]";
  return "";
}

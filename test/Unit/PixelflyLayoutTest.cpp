//===- PixelflyLayoutTest.cpp - Tests for Pixelfly layouts ------*- C++ -*-===//
//
// Expected layouts are written out by hand as 0/1 grids from the definition
// of the base pattern (diagonal plus XOR partners 2^i, i < nFactors).
//
//===----------------------------------------------------------------------===//

#include "fly/Structure/PixelflyLayout.h"

#include "gtest/gtest.h"

#include <string>

using namespace fly::structure;

namespace {
/// Renders a layout as one string per block row, '1' for a kept block, so a
/// failing expectation prints the whole grid.
std::vector<std::string> toGrid(const BlockLayout &layout) {
  std::vector<std::string> grid(
      static_cast<size_t>(layout.blockRows),
      std::string(static_cast<size_t>(layout.blockCols), '0'));
  EXPECT_EQ(layout.rows.size(), layout.cols.size());
  for (size_t e = 0; e < layout.rows.size(); ++e)
    grid[static_cast<size_t>(layout.rows[e])]
        [static_cast<size_t>(layout.cols[e])] = '1';
  return grid;
}

BlockLayout layoutOf(int64_t m, int64_t n, int64_t blockSize, int64_t s,
                     int64_t nFactors, int64_t globalSize = 0) {
  EXPECT_EQ(
      validateFlatBlockButterflyArgs(m, n, blockSize, s, nFactors, globalSize),
      "");
  return flatBlockButterflyLayout(m, n, blockSize, s, nFactors, globalSize);
}

using Grid = std::vector<std::string>;
} // namespace

TEST(PixelflyLayoutTest, BasePatternTwoFactors) {
  // XOR 1 and XOR 2 partners plus the diagonal; XOR 3 ((0,3), (1,2), (2,1),
  // (3,0)) is not a power of two below 2^2 and stays empty.
  BlockLayout layout = layoutOf(4, 4, 1, 4, 2);
  EXPECT_EQ(layout.blockRows, 4);
  EXPECT_EQ(layout.blockCols, 4);
  EXPECT_EQ(toGrid(layout), (Grid{"1110", "1101", "1011", "0111"}));
  // Explicit row-major coordinate lists.
  EXPECT_EQ(layout.rows,
            (std::vector<int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}));
  EXPECT_EQ(layout.cols,
            (std::vector<int64_t>{0, 1, 2, 0, 1, 3, 0, 2, 3, 1, 2, 3}));
}

TEST(PixelflyLayoutTest, OneFactorIsBlockDiagonal) {
  EXPECT_EQ(toGrid(layoutOf(4, 4, 1, 4, 1)),
            (Grid{"1100", "1100", "0011", "0011"}));
  // Zero factors leaves only the diagonal.
  EXPECT_EQ(toGrid(layoutOf(4, 4, 1, 4, 0)),
            (Grid{"1000", "0100", "0010", "0001"}));
}

TEST(PixelflyLayoutTest, StretchRepeatsEachCell) {
  // m = n = 8 over a 4x4 pattern: every cell becomes a 2x2 patch.
  EXPECT_EQ(toGrid(layoutOf(8, 8, 1, 4, 2)),
            (Grid{"11111100", "11111100", "11110011", "11110011", "11001111",
                  "11001111", "00111111", "00111111"}));
}

TEST(PixelflyLayoutTest, StretchNonSquare) {
  // 4x8 over a 4x4 pattern with one factor: rows map 1:1, columns 2:1.
  EXPECT_EQ(toGrid(layoutOf(4, 8, 1, 4, 1)),
            (Grid{"11110000", "11110000", "00001111", "00001111"}));
}

TEST(PixelflyLayoutTest, MatrixSmallerThanPatternSkipsCells) {
  // m = n = 2 over a 4x4 pattern: elements map to cells 0 and 2 only. With
  // one factor P[0][2] = 0, so only the diagonal survives; the second factor
  // (XOR 2) sets P[0][2] and P[2][0].
  EXPECT_EQ(toGrid(layoutOf(2, 2, 1, 4, 1)), (Grid{"10", "01"}));
  EXPECT_EQ(toGrid(layoutOf(2, 2, 1, 4, 2)), (Grid{"11", "11"}));
}

TEST(PixelflyLayoutTest, LargeBlocksKeepAnyTouchedCell) {
  // 8x8 with 4x4 blocks over a 4x4 pattern: block (R, C) covers cells
  // rows {2R, 2R+1} x cols {2C, 2C+1}.
  EXPECT_EQ(toGrid(layoutOf(8, 8, 4, 4, 0)), (Grid{"10", "01"}));
  EXPECT_EQ(toGrid(layoutOf(8, 8, 4, 4, 1)), (Grid{"10", "01"}));
  // XOR 2 links cells 0-2 and 1-3, which lie in different blocks.
  EXPECT_EQ(toGrid(layoutOf(8, 8, 4, 4, 2)), (Grid{"11", "11"}));
  // 8x8 pattern in 2x2 blocks: factor 0 stays inside blocks, factor 1
  // (XOR 2) links neighbouring block pairs, factor 2 (XOR 4) the halves.
  EXPECT_EQ(toGrid(layoutOf(8, 8, 2, 8, 1)),
            (Grid{"1000", "0100", "0010", "0001"}));
  EXPECT_EQ(toGrid(layoutOf(8, 8, 2, 8, 2)),
            (Grid{"1100", "1100", "0011", "0011"}));
  EXPECT_EQ(toGrid(layoutOf(8, 8, 2, 8, 3)),
            (Grid{"1110", "1101", "1011", "0111"}));
}

TEST(PixelflyLayoutTest, GlobalRowsAndColumns) {
  EXPECT_EQ(toGrid(layoutOf(8, 8, 2, 4, 0, 1)),
            (Grid{"1111", "1100", "1010", "1001"}));
  EXPECT_EQ(toGrid(layoutOf(8, 8, 2, 4, 1, 2)),
            (Grid{"1111", "1111", "1111", "1111"}));
  // 12 rows over 4 pattern rows: element row y maps to cell y/3, so block
  // rows (pairs of element rows) 1 and 4 straddle two cells each.
  EXPECT_EQ(toGrid(layoutOf(12, 8, 2, 4, 0, 1)),
            (Grid{"1111", "1100", "1100", "1010", "1011", "1001"}));
}

TEST(PixelflyLayoutTest, CoordinatesSortedAndUnique) {
  BlockLayout layout = layoutOf(96, 64, 4, 16, 3, 2);
  ASSERT_EQ(layout.rows.size(), layout.cols.size());
  ASSERT_FALSE(layout.rows.empty());
  for (size_t e = 1; e < layout.rows.size(); ++e) {
    const bool increasing = layout.rows[e - 1] < layout.rows[e] ||
                            (layout.rows[e - 1] == layout.rows[e] &&
                             layout.cols[e - 1] < layout.cols[e]);
    EXPECT_TRUE(increasing) << "entry " << e;
  }
  for (size_t e = 0; e < layout.rows.size(); ++e) {
    EXPECT_LT(layout.rows[e], layout.blockRows);
    EXPECT_LT(layout.cols[e], layout.blockCols);
  }
}

TEST(PixelflyLayoutTest, ValidationMessages) {
  EXPECT_EQ(validateFlatBlockButterflyArgs(64, 32, 8, 4, 2, 1), "");
  EXPECT_EQ(validateFlatBlockButterflyArgs(64, 32, 8, 1, 0, 0), "");

  auto expectError = [](const std::string &msg,
                        const std::vector<std::string> &mentions) {
    EXPECT_FALSE(msg.empty());
    for (const std::string &s : mentions)
      EXPECT_NE(msg.find(s), std::string::npos)
          << "message '" << msg << "' should mention '" << s << "'";
  };
  expectError(validateFlatBlockButterflyArgs(0, 8, 2, 4, 1, 0),
              {"m = 0", "n = 8"});
  expectError(validateFlatBlockButterflyArgs(8, -8, 2, 4, 1, 0), {"n = -8"});
  expectError(validateFlatBlockButterflyArgs(8, 8, 0, 4, 1, 0),
              {"blockSize", "0"});
  expectError(validateFlatBlockButterflyArgs(10, 8, 4, 4, 1, 0),
              {"m = 10", "blockSize = 4"});
  expectError(validateFlatBlockButterflyArgs(8, 10, 4, 4, 1, 0),
              {"n = 10", "blockSize = 4"});
  expectError(validateFlatBlockButterflyArgs(8, 8, 2, 6, 1, 0),
              {"butterflySize", "6"});
  expectError(validateFlatBlockButterflyArgs(8, 8, 2, 0, 0, 0),
              {"butterflySize", "0"});
  expectError(validateFlatBlockButterflyArgs(8, 8, 2, 4, 3, 0),
              {"nFactors = 3", "2"});
  expectError(validateFlatBlockButterflyArgs(8, 8, 2, 4, -1, 0),
              {"nFactors = -1"});
  expectError(validateFlatBlockButterflyArgs(8, 8, 2, 4, 1, -1),
              {"globalSize = -1"});
  expectError(validateFlatBlockButterflyArgs(8, 16, 2, 4, 1, 5),
              {"globalSize = 5", "4", "8"});
}

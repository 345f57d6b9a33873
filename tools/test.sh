#!/usr/bin/env bash
# Sets up, builds and runs every test: lit (FileCheck, verifier diagnostics,
# JIT numerics against the C++ reference) and GoogleTest (through ctest).
set -uo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh || exit 1
BUILD_DIR=${FLY_BUILD_DIR:-build}

echo "== lit"
ninja -C "$BUILD_DIR" check-fly
lit_status=$?

echo "== GoogleTest (ctest)"
(cd "$BUILD_DIR" && ctest --output-on-failure)
gtest_status=$?

if [ $lit_status -ne 0 ] || [ $gtest_status -ne 0 ]; then
  echo "FAILED: lit exit $lit_status, ctest exit $gtest_status"
  exit 1
fi
echo "ALL TESTS PASSED"

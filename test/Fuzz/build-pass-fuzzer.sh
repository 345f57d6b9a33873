#!/usr/bin/env bash
# Builds fly-pass-fuzzer (test/Fuzz/PassFuzzer.cpp): every fly library
# compiled by clang-14 with libFuzzer coverage, ASan and UBSan, in its own
# build tree ${FLY_BUILD_DIR:-build}/fuzz-passes (the main build uses g++,
# which has no libFuzzer). MLIR itself comes uninstrumented from libMLIR.so.
#
#   test/Fuzz/build-pass-fuzzer.sh     # -> $FLY_BUILD_DIR/fuzz-passes/bin/fly-pass-fuzzer
#   build/fuzz-passes/bin/fly-pass-fuzzer CORPUS test/Fuzz/corpus/passes -max_total_time=600
#
# Incremental (ninja); the first build takes about 6 minutes on 2 cores.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${FLY_BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$SRC/$BUILD_DIR" ;; esac
OUT="$BUILD_DIR/fuzz-passes"
CXX=${CXX_FUZZ:-clang++-14}
CC=${CC_FUZZ:-clang-14}
for tool in "$CXX" "$CC" cmake ninja; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test/Fuzz/build-pass-fuzzer.sh: $tool not found (tools/setup.sh installs clang-14, libclang-rt-14-dev, cmake, ninja)" >&2
    exit 1
  fi
done
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ ! -f "$OUT/build.ninja" ]; then
  cmake -S "$SRC" -B "$OUT" -G Ninja \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -g" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g" \
    -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DFLY_PASS_FUZZER=ON >"$OUT.configure.log" 2>&1 ||
    { cat "$OUT.configure.log" >&2; exit 1; }
fi
ninja -C "$OUT" -j "${FLY_JOBS:-2}" fly-pass-fuzzer

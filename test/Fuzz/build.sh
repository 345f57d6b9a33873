#!/usr/bin/env bash
# Builds the libFuzzer targets for the two plain-C++ readers (safetensors and
# config.json) with clang-14 into ${FLY_BUILD_DIR:-build}/fuzz/:
#
#   test/Fuzz/build.sh            # build what is out of date
#   build/fuzz/safetensors-fuzzer test/Fuzz/corpus/safetensors -max_total_time=60
#   build/fuzz/modelconfig-fuzzer test/Fuzz/corpus/config -max_total_time=60
#
# The main build uses g++, which has no libFuzzer, so the fuzzers compile the
# reader sources directly. Idempotent: a target is rebuilt only when one of
# its inputs is newer. Needs clang-14 and libclang-rt-14-dev (tools/setup.sh);
# CXX overrides the compiler.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${FLY_BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$SRC/$BUILD_DIR" ;; esac
OUT="$BUILD_DIR/fuzz"
CXX=${CXX_FUZZ:-clang++-14}

if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "test/Fuzz/build.sh: $CXX not found (install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
mkdir -p "$OUT"

FLAGS=(-std=c++17 -g -O1 -fno-exceptions -fno-omit-frame-pointer
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -I"$SRC/runtime/include" -I"$SRC/models/include")

# build NAME SOURCE... : links SOURCE... into $OUT/NAME if any is newer.
build() {
  local name=$1
  shift
  local target="$OUT/$name" deps=("$@" "$0"
    "$SRC/runtime/include/fly/runtime/Safetensors.h"
    "$SRC/runtime/include/fly/runtime/FileUtils.h"
    "$SRC/models/include/fly/Models/ModelConfig.h")
  local stale=0
  if [ ! -x "$target" ]; then
    stale=1
  else
    for d in "${deps[@]}"; do
      [ "$d" -nt "$target" ] && stale=1 && break
    done
  fi
  if [ $stale -eq 0 ]; then
    echo "== $name is up to date"
    return 0
  fi
  echo "== building $name"
  "$CXX" "${FLAGS[@]}" "$@" -o "$target.tmp"
  mv "$target.tmp" "$target"
}

# The two targets build in parallel (about 20 s each on one core).
build safetensors-fuzzer "$SRC/test/Fuzz/SafetensorsFuzzer.cpp" \
  "$SRC/runtime/src/Safetensors.cpp" "$SRC/runtime/src/FileUtils.cpp" &
st=$!
build modelconfig-fuzzer "$SRC/test/Fuzz/ModelConfigFuzzer.cpp" \
  "$SRC/models/common/ModelConfig.cpp" "$SRC/runtime/src/FileUtils.cpp" &
mc=$!
rc=0
wait $st || rc=1
wait $mc || rc=1
exit $rc

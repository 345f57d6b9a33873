#!/usr/bin/env bash
# Builds fly with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-asan (FLY_ASAN_BUILD_DIR) and runs the whole test suite (lit +
# GoogleTest) under them. Every fly binary, test tool and unit test is
# instrumented; LLVM/MLIR (Debian's shared libraries) and the generated
# model code are not.
#
#   tools/sanitize.sh            # setup, build (-j2), lit + ctest
#
# Leak checking is off: LLVM's and MLIR's global registries are never freed
# by design and would be reported at exit of every tool. Any ASan or UBSan
# report aborts the process (halt_on_error, -fno-sanitize-recover), so it
# fails the test that ran it.
set -uo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh >/dev/null || exit 1
BUILD_DIR=${FLY_ASAN_BUILD_DIR:-build-asan}
JOBS=${FLY_JOBS:-2}
FLAGS="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DFLY_REQUIRE_CUDA=ON \
    -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_C_FLAGS="$FLAGS" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" || exit 1
fi
ninja -C "$BUILD_DIR" -j"$JOBS" || exit 1
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== lit (ASan + UBSan)"
ninja -C "$BUILD_DIR" check-fly
lit_status=$?
echo "== GoogleTest (ASan + UBSan)"
(cd "$BUILD_DIR" && ctest --output-on-failure)
gtest_status=$?
if [ $lit_status -ne 0 ] || [ $gtest_status -ne 0 ]; then
  echo "FAILED under sanitizers: lit exit $lit_status, ctest exit $gtest_status"
  exit 1
fi
echo "ALL TESTS PASSED under AddressSanitizer + UndefinedBehaviorSanitizer"

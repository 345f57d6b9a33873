#!/usr/bin/env bash
#===- run-there.sh - build and run the wgmma GEMM self-test (GPU machine) --===#
#
# On the GPU machine (g++, CUDA toolkit, driver; no LLVM), from the repository
# root, after carrying OUT_DIR from build-here.sh:
#
#   tools/gpu/gemm-selftest/run-there.sh [OUT_DIR] [-- check args]
#   check args: --samples=N (default 50), --only=SUBSTRING
#
# Compiles check.cpp, links it with OUT_DIR/gemm_*.o and the fly runtime's
# mgpu* implementation (runtime/src/CudaRuntime.cpp if present, else
# CudaDriver.cpp + CudaSupport.cpp), adds a cuBLAS reference column when
# cublas_v2.h is there, and runs it. Exit status 0 = every case correct.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT_DIR="$HERE/out"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  OUT_DIR="$1"
  shift
fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
CXX="${CXX:-g++}"
BUILD="${BUILD_DIR:-$(mktemp -d)}"

if [ ! -f "$OUT_DIR/gemm_specs.inc" ]; then
  echo "run-there.sh: no $OUT_DIR/gemm_specs.inc (run build-here.sh first)" >&2
  exit 2
fi

if [ -f "$REPO/runtime/src/CudaRuntime.cpp" ]; then
  RUNTIME=("$REPO/runtime/src/CudaRuntime.cpp")
else
  RUNTIME=("$REPO/runtime/src/CudaDriver.cpp" "$REPO/runtime/src/CudaSupport.cpp")
fi

FLAGS=(-std=c++17 -O2 -march=native -DFLY_HAVE_CUDA=1
  -I "$OUT_DIR" -I "$REPO/runtime/include" -I "$CUDA_HOME/include")
LIBS=(-L "$CUDA_HOME/lib64" -L "$CUDA_HOME/lib64/stubs")
[ -d /usr/local/nvidia/lib64 ] && LIBS+=(-L /usr/local/nvidia/lib64)
if [ -f "$CUDA_HOME/include/cublas_v2.h" ] && [ "${NO_CUBLAS:-0}" != 1 ]; then
  FLAGS+=(-DFLY_WITH_CUBLAS)
  LIBS+=(-lcublas -lcudart)
fi
LIBS+=(-lcuda -ldl -lpthread)

echo "== building $BUILD/gemm-check (runtime: ${RUNTIME[*]##*/})"
"$CXX" "${FLAGS[@]}" "$HERE/check.cpp" "${RUNTIME[@]}" "$OUT_DIR"/gemm_*.o \
  "${LIBS[@]}" -o "$BUILD/gemm-check"

export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$CUDA_HOME/lib64${LD_LIBRARY_PATH_EXTRA:+:$LD_LIBRARY_PATH_EXTRA}"
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:$LD_LIBRARY_PATH"
echo "== running"
"$BUILD/gemm-check" "$@"

#!/usr/bin/env bash
#===- run-there.sh - build and run the fused Monarch self-test (GPU machine) ===#
#
# From the repository root on the GPU machine (g++, CUDA, driver; python3 +
# torch for the dense comparison), after carrying OUT_DIR from build-here.sh:
#
#   tools/gpu/monarch-selftest/run-there.sh [OUT_DIR] [-- check args]
#   check args: --samples=N (default 30), --only=SUBSTRING
#
# Links check.cpp with OUT_DIR/monarch_*.o and the fly runtime (CudaDriver.cpp
# + CudaSupport.cpp), runs it (correctness + timings, CSV), then dense.py
# times torch.nn.Linear fp16 of the same in/out sizes and prints
# monarch/dense ratios. Exit status: the check's (0 = every case correct).
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
CSV="${CSV:-$BUILD/monarch.csv}"

FLAGS=(-std=c++17 -O2 -march=native -DFLY_HAVE_CUDA=1
  -I "$OUT_DIR" -I "$REPO/runtime/include" -I "$CUDA_HOME/include")
LIBS=(-L "$CUDA_HOME/lib64" -L "$CUDA_HOME/lib64/stubs")
[ -d /usr/local/nvidia/lib64 ] && LIBS+=(-L /usr/local/nvidia/lib64)
LIBS+=(-lcuda -ldl -lpthread)

echo "== building $BUILD/monarch-check"
"$CXX" "${FLAGS[@]}" "$HERE/check.cpp" "$REPO/runtime/src/CudaDriver.cpp" \
  "$REPO/runtime/src/CudaSupport.cpp" "$OUT_DIR"/monarch_*.o "${LIBS[@]}" \
  -o "$BUILD/monarch-check"

export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$CUDA_HOME/lib64"
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:$LD_LIBRARY_PATH"
echo "== running"
status=0
"$BUILD/monarch-check" --csv="$CSV" "$@" || status=$?
echo "== dense torch.nn.Linear comparison"
python3 "$HERE/dense.py" "$CSV" || echo "dense.py failed"
exit $status

#!/usr/bin/env bash
#===- run-there.sh - build and run the attention self-test (GPU machine) ---===#
#
# On the GPU machine (g++, CUDA toolkit, driver; no LLVM), from the repository
# root, after carrying OUT_DIR from build-here.sh:
#
#   tools/gpu/attention-selftest/run-there.sh [OUT_DIR] [-- check args]
#   check args: --samples=N (default 30), --only=SUBSTRING
#   env NO_SDPA=1 skips the PyTorch comparison; SANITIZE=SUBSTRING also runs
#   compute-sanitizer racecheck and memcheck on the cases matching it.
#
# Compiles check.cpp, links it with OUT_DIR/attn_*.o and the fly runtime's
# mgpu* implementation, runs it, then times PyTorch's
# F.scaled_dot_product_attention on the same shapes (OUT_DIR/sdpa.py, when
# python3 can import torch) and prints the fly / SDPA time ratio.
# Exit status 0 = every case correct.
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

if [ ! -f "$OUT_DIR/attn_specs.inc" ]; then
  echo "run-there.sh: no $OUT_DIR/attn_specs.inc (run build-here.sh first)" >&2
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
LIBS+=(-lcuda -ldl -lpthread)

echo "== building $BUILD/attn-check (runtime: ${RUNTIME[*]##*/})"
"$CXX" "${FLAGS[@]}" "$HERE/check.cpp" "${RUNTIME[@]}" "$OUT_DIR"/attn_*.o \
  "${LIBS[@]}" -o "$BUILD/attn-check"

export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$CUDA_HOME/lib64"
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:$LD_LIBRARY_PATH"
echo "== running"
status=0
"$BUILD/attn-check" "$@" | tee "$BUILD/check.log" || status=$?
if [ "${NO_SDPA:-0}" != 1 ] && python3 -c 'import torch' 2>/dev/null; then
  echo "== PyTorch SDPA on the same shapes"
  python3 "$OUT_DIR/sdpa.py" "$BUILD/check.log" || echo "sdpa.py failed"
fi
if [ -n "${SANITIZE:-}" ]; then
  SAN="$(command -v compute-sanitizer || echo "$CUDA_HOME/bin/compute-sanitizer")"
  for tool in racecheck memcheck; do
    echo "== compute-sanitizer --tool $tool on *$SANITIZE*"
    "$SAN" --tool "$tool" "$BUILD/attn-check" --samples=1 --only="$SANITIZE" \
      > "$BUILD/san-$tool.log" 2>&1 || status=1
    grep -E '^fly_attn|SUMMARY|rror|FAIL|PASS' "$BUILD/san-$tool.log" | head -20
  done
fi
exit "$status"

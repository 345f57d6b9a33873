#!/usr/bin/env bash
#===- race-there.sh - compute-sanitizer on the Monarch self-test (GPU) ----===#
#
# After `SPEC_SET=race REPEATS=1 build-here.sh OUT_DIR` here and carrying
# OUT_DIR: builds monarch-check against OUT_DIR, runs it plainly, then under
# compute-sanitizer racecheck (all hazards, full report) and memcheck, with
# one timing sample. Logs go to $OUT/<OUT_DIR name>/ as racecheck.log /
# memcheck.log; SASS of each kernel (for hazard PCs) as monarch_<i>.sass.
#
#   tools/gpu/monarch-selftest/race-there.sh OUT_DIR
#
#===------------------------------------------------------------------------===#
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT_DIR="${1:-$HERE/out}"
LOGS="${OUT:-$OUT_DIR}/$(basename "$OUT_DIR")"; mkdir -p "$LOGS"
CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
SAN="$(command -v compute-sanitizer || echo "$CUDA_HOME/bin/compute-sanitizer")"
BUILD="$(mktemp -d)"
g++ -std=c++17 -O2 -DFLY_HAVE_CUDA=1 -I "$OUT_DIR" -I "$REPO/runtime/include" \
  -I "$CUDA_HOME/include" "$HERE/check.cpp" "$REPO/runtime/src/CudaDriver.cpp" \
  "$REPO/runtime/src/CudaSupport.cpp" "$OUT_DIR"/monarch_*.o \
  -L "$CUDA_HOME/lib64" -L "$CUDA_HOME/lib64/stubs" -lcuda -ldl -lpthread \
  -o "$BUILD/monarch-check" || exit 1
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$CUDA_HOME/lib64"
for c in "$OUT_DIR"/monarch_*.cubin; do
  cuobjdump -sass "$c" > "$LOGS/$(basename "$c" .cubin).sass" 2>&1 || true
done
echo "== plain"
"$BUILD/monarch-check" --samples=1 | tail -n 12
echo "== racecheck"
"$SAN" --tool racecheck --racecheck-report all --print-limit 200 \
  "$BUILD/monarch-check" --samples=1 > "$LOGS/racecheck.log" 2>&1
echo "racecheck exit $?"
grep -E "RACECHECK SUMMARY|ERROR SUMMARY|PASSED|FAILED" "$LOGS/racecheck.log"
grep -E "^========= (Error|Warning): " "$LOGS/racecheck.log" | sort | uniq -c | head -40
echo "== memcheck"
"$SAN" --tool memcheck "$BUILD/monarch-check" --samples=1 > "$LOGS/memcheck.log" 2>&1
echo "memcheck exit $?"
grep -E "ERROR SUMMARY|PASSED|FAILED" "$LOGS/memcheck.log"

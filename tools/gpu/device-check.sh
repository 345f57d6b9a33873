#!/usr/bin/env bash
# Runs on the GPU machine (no LLVM there): builds the fly runtime + fly-run
# with cmake and g++, then checks CUDA artifacts compiled on the CPU machine
# against CPU artifacts of the same model (same seeded weights and inputs),
# and runs compute-sanitizer on the small ones.
#
#   tools/gpu/device-check.sh ARTIFACT_DIR [OUT_DIR]
#
# ARTIFACT_DIR holds pairs NAME.cpu.fly / NAME.cuda-DTYPE.fly (made by
# tools/gpu/make-check-artifacts.sh) and nlohmann/ (the JSON headers, which
# that machine lacks). Prints one line per check and exits 1 if any fails.
set -uo pipefail
art=${1:?usage: device-check.sh ARTIFACT_DIR [OUT_DIR]}
out=${2:-${OUT:-/tmp/fly-device-check}}
mkdir -p "$out"
root=$(cd "$(dirname "$0")/../.." && pwd)
build=/tmp/fly-build-rt
cmake -S "$root/runtime" -B "$build" -G Ninja -DFLY_REQUIRE_CUDA=ON \
  -DFLY_NLOHMANN_INCLUDE_DIR="$art" >"$out/cmake.log" 2>&1 &&
  cmake --build "$build" >>"$out/cmake.log" 2>&1 ||
  { tail -30 "$out/cmake.log"; exit 1; }
run="$build/bin/fly-run"
status=0
for cpu in "$art"/*.cpu.fly; do
  name=$(basename "$cpu" .cpu.fly)
  "$run" "$cpu" --iters 1 --warmup 0 --quiet --output "$out/$name.cpu.npy" || status=1
  for gpu in "$art/$name".cuda-*.fly; do
    [ -d "$gpu" ] || continue
    tag=$(basename "$gpu" .fly)
    case $tag in *f32) rtol=1e-4 ;; *) rtol=1e-2 ;; esac
    echo "== $tag vs CPU (rtol $rtol)"
    "$run" "$gpu" --iters 5 --warmup 1 --output "$out/$tag.npy" \
      --profile "$out/$tag.trace.json" | tail -12 || status=1
    python3 "$root/test/Models/oracle/compare.py" "$out/$tag.npy" \
      "$out/$name.cpu.npy" --rtol $rtol || status=1
    if [ "${FLY_SANITIZE:-1}" = 1 ] && command -v compute-sanitizer >/dev/null; then
      for tool in memcheck racecheck; do
        compute-sanitizer --tool $tool --error-exitcode 3 "$run" "$gpu" \
          --iters 1 --warmup 0 --quiet >"$out/$tag.$tool.log" 2>&1
        rc=$?
        echo "compute-sanitizer $tool $tag: exit $rc, $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/$tag.$tool.log" | tail -1)"
        [ $rc = 0 ] || status=1
      done
    fi
  done
done
exit $status

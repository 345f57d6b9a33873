#!/usr/bin/env bash
# Runs on the GPU machine (no LLVM there): builds the fly runtime + fly-run
# with cmake and g++, then checks CUDA artifacts compiled on the CPU machine
# against CPU artifacts of the same model (same seeded weights and inputs),
# and runs compute-sanitizer on the small ones.
#
#   tools/gpu/device-check.sh ARTIFACT_DIR [OUT_DIR]
#
# (Run tools/gpu/scatterbrain_checks.py inputs ARTIFACT_DIR first when
# ARTIFACT_DIR comes from make-check-artifacts.sh.)
# ARTIFACT_DIR may also be tools/gpu/pack-check-artifacts.sh's packed copy
# (CPU artifacts replaced by their outputs), which fits the device's carry.
# ARTIFACT_DIR holds NAME.cuda-DTYPE.fly artifacts with either a CPU
# artifact NAME.cpu.fly of the same model (same seeded weights and inputs)
# or a reference NAME.ref.npy (HF transformers, or a CPU run made on the
# CPU machine) for inputs NAME.inputs.npy (or NAME.inputs.f16.npy, converted
# here; or NAME.input0.npy, NAME.input1.npy, ... for several)
# (made by tools/gpu/make-check-artifacts.sh), and nlohmann/ (the JSON
# headers, which that machine lacks). Prints one line per check and exits 1
# if any fails. FLY_CHECK_ONLY=REGEX limits the checks to the artifact names
# (NAME above) it matches; FLY_SANITIZE=0 skips compute-sanitizer.
set -uo pipefail
art=${1:?usage: device-check.sh ARTIFACT_DIR [OUT_DIR]}
out=${2:-${OUT:-/tmp/fly-device-check}}
mkdir -p "$out"
root=$(cd "$(dirname "$0")/../.." && pwd)
run=$("$root/tools/gpu/build-runtime.sh" "$art" /tmp/fly-build-rt "$out/cmake.log") || exit 1
status=0
names=$(ls -d "$art"/*.cuda-*.fly | sed 's|.*/||; s|\.cuda-.*||' | sort -u |
  grep -E "${FLY_CHECK_ONLY:-.}")
if [ -z "$names" ]; then
  echo "device-check.sh: no NAME.cuda-*.fly artifact in $art matches '${FLY_CHECK_ONLY:-.}'" >&2
  exit 1
fi
for name in $names; do
  input=()
  if [ -f "$art/$name.ref.npy" ]; then
    ref="$art/$name.ref.npy"
    if [ -f "$art/$name.inputs.npy" ]; then
      input=(--input "$art/$name.inputs.npy")
    elif [ -f "$art/$name.inputs.f16.npy" ]; then
      # Carried as f16 (half the bytes); fly-run reads f32 inputs.
      python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" \
        "$art/$name.inputs.f16.npy" "$out/$name.inputs.npy" || status=1
      input=(--input "$out/$name.inputs.npy")
    else # several inputs: NAME.input0.npy, NAME.input1.npy, ...
      for ((i = 0; i < 16; ++i)); do
        [ -f "$art/$name.input$i.npy" ] && input+=(--input "$art/$name.input$i.npy")
      done
    fi
  else
    ref="$out/$name.cpu.npy"
    "$run" "$art/$name.cpu.fly" --iters 1 --warmup 0 --quiet --output "$ref" || status=1
  fi
  for gpu in "$art/$name".cuda-*.fly; do
    tag=$(basename "$gpu" .fly)
    # bf16 keeps 8 significant bits to f16's 11: its rounding error is 8x
    # f16's, so its bound is 3x f16's 1e-2 (f16 runs land near 1.4e-3).
    # The dtype is the word after ".cuda-" (NAME.cuda-DTYPE[-VARIANT]).
    dtype=${tag##*.cuda-}
    case ${dtype%%-*} in f32) rtol=1e-4 ;; bf16) rtol=3e-2 ;; *) rtol=1e-2 ;; esac
    echo "== $tag vs $(basename "$ref") (rtol $rtol)"
    "$run" "$gpu" "${input[@]}" --iters 5 --warmup 1 --output "$out/$tag.npy" \
      --profile "$out/$tag.trace.json" | tail -14 || status=1
    python3 "$root/test/Models/oracle/compare.py" "$out/$tag.npy" "$ref" \
      --rtol $rtol || status=1
    if [ "${FLY_SANITIZE:-1}" = 1 ] && command -v compute-sanitizer >/dev/null; then
      for tool in memcheck racecheck; do
        compute-sanitizer --tool $tool --error-exitcode 3 "$run" "$gpu" \
          "${input[@]}" --iters 1 --warmup 0 --quiet >"$out/$tag.$tool.log" 2>&1
        rc=$?
        echo "compute-sanitizer $tool $tag: exit $rc, $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/$tag.$tool.log" | tail -1)"
        if [ $rc != 0 ]; then
          status=1
          grep -m 12 -A 6 -E '^========= (Error|Warning|Race|Invalid)' "$out/$tag.$tool.log"
        fi
      done
    fi
  done
done
exit $status

#!/usr/bin/env bash
# On the CPU machine: packs the output of make-check-artifacts.sh for the
# device's carry limit (64 MiB). The CPU artifacts (NAME.cpu.fly, up to
# 20 MB each) are run here once and replaced by their outputs
# (NAME.ref.npy), which device-check.sh then compares against, with the
# same seeded inputs; CUDA artifacts, inputs, references and nlohmann/ are
# copied as they are. FLY_PACK_EXCLUDE=REGEX leaves out the checks whose
# NAME it matches (default: sb-t1600, whose inputs
# scatterbrain_checks.py regenerates there and whose reference is 17 MB).
#
#   tools/gpu/pack-check-artifacts.sh BUILD_DIR ARTIFACT_DIR PACKED_DIR
set -euo pipefail
build=${1:?usage: pack-check-artifacts.sh BUILD_DIR ARTIFACT_DIR PACKED_DIR}
art=${2:?usage: pack-check-artifacts.sh BUILD_DIR ARTIFACT_DIR PACKED_DIR}
out=${3:?usage: pack-check-artifacts.sh BUILD_DIR ARTIFACT_DIR PACKED_DIR}
exclude=${FLY_PACK_EXCLUDE:-^sb-t1600}
[ -d "$art/nlohmann" ] || { echo "pack-check-artifacts.sh: $art has no nlohmann/ (not from make-check-artifacts.sh?)" >&2; exit 1; }
mkdir -p "$out"
cp -r "$art/nlohmann" "$out/"
for f in "$art"/*.cuda-*.fly "$art"/*.npy; do
  [ -e "$f" ] || continue
  name=$(basename "$f")
  [[ ${name%%.*} =~ $exclude ]] && continue
  cp -r "$f" "$out/"
done
for cpu in "$art"/*.cpu.fly; do
  [ -e "$cpu" ] || continue
  name=$(basename "$cpu" .cpu.fly)
  [[ $name =~ $exclude ]] && continue
  echo "== $name: CPU reference" >&2
  "$build/bin/fly-run" "$cpu" --iters 1 --warmup 0 --quiet --output "$out/$name.ref.npy" >&2
done
du -sh "$out"

#!/usr/bin/env bash
# On the CPU machine: compiles the GPU benchmark artifacts of
# tools/bench/gpu_gpt2.py, the shapes torch_peer_bench.py times: GPT-2 small
# (12 layers, d 768, 12 heads) body and MLP layer, seq 1024, fp16, batch
# 8/16/32, dense and with a Monarch MLP (4 blocks). Weights are random at
# run time (fly-run --weights random), so the weights files are dropped.
#
#   tools/bench/gpu-make-artifacts.sh BUILD_DIR OUT_DIR [BATCHES] [STRUCTURES]
#
# FLY_CUDA_FLAGS adds fly-compile flags (e.g. "--producer-row-statistics=off";
# tools/bench/gpu_ab.py then times two such directories against each other).
set -euo pipefail
build=${1:?usage: gpu-make-artifacts.sh BUILD_DIR OUT_DIR [BATCHES] [STRUCTURES]}
out=${2:?usage: gpu-make-artifacts.sh BUILD_DIR OUT_DIR [BATCHES] [STRUCTURES]}
batches=${3:-8,16,32}
structures=${4:-dense,monarch:4}
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
for structure in ${structures//,/ }; do
  tag=${structure//:/}
  flag=()
  # The weights are random at run time: skip the (SVD) projection.
  [ "$structure" = dense ] || flag=(--structure "mlp=$structure:init=random")
  for part in body mlp; do
    for b in ${batches//,/ }; do
      dir="$out/gpt2-$part-$tag-b$b.fly"
      echo "== $dir" >&2
      "$build/bin/fly-compile" "$src/tools/bench/configs/gpt2" --weights random \
        --part "$part" --batch "$b" --seq 1024 --target cuda --dtype f16 \
        "${flag[@]}" ${FLY_CUDA_FLAGS:-} -o "$dir" --quiet
      rm -f "$dir/weights.safetensors"
    done
  done
done
du -sh "$out"

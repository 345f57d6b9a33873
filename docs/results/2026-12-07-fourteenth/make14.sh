#!/usr/bin/env bash
# Fourteenth session: artifacts of the working tree's kernels for the device.
#   make14.sh TAG  ->  .carry/bTAG  benchmark artifacts (A side: .carry/b15a)
#                      .carry/cTAG  checks (references/inputs from .carry/cnext)
# FLY_CUDA_FLAGS adds fly-compile flags to every CUDA artifact.
set -euo pipefail
tag=${1:?usage: make14.sh TAG}
build=build; compile=$build/bin/fly-compile
read -r -a flags <<<"${FLY_CUDA_FLAGS:-}"
b=.carry/b$tag; c=.carry/c$tag
rm -rf $b $c; mkdir -p $c
tools/bench/gpu-make-artifacts.sh $build $b 8,16,32 monarch:4 2>/dev/null
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
for bt in 2x128 34x127; do
  bb=${bt%x*}; t=${bt#*x}
  "$compile" "$tmp/model" --batch $bb --seq $t --part body --structure mlp=monarch:4 \
    --target cuda --dtype f16 "${flags[@]}" --quiet -o $c/gpt2-d256-monarch-$bt.cuda-f16-$tag.fly
done
"$compile" "$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4 \
  --target cuda --dtype bf16 "${flags[@]}" --quiet -o $c/gpt2-d256-monarch-2x128.cuda-bf16-$tag.fly
for bt in 1x200 6x1017; do
  bb=${bt%x*}; t=${bt#*x}
  "$compile" tools/bench/configs/gpt2 --weights random --part mlp --batch $bb --seq $t \
    --structure mlp=monarch:4:init=random --target cuda --dtype f16 "${flags[@]}" --quiet \
    -o $c/gpt2s-mlp-$bt.cuda-f16-$tag.fly
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 "${flags[@]}" \
  --quiet -o $c/tiny-vit-monarch.cuda-f16-$tag.fly
rm -rf "$tmp"
cp -r /usr/include/nlohmann $c/
cp .carry/cnext/*.ref.npy .carry/cnext/*.inputs.f16.npy $c/
du -sh $b $c

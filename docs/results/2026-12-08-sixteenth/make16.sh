#!/usr/bin/env bash
# Sixteenth session: artifacts of the working tree's kernels for the device.
#   make16.sh TAG SCHEDULE [F2_STAGES [F1_WG F1_STAGES]]
# SCHEDULE: fly-compile --monarch-hidden-schedule; F2_STAGES, F1_WG,
# F1_STAGES: the experiment's overrides of the MLP's factor-2 ring depth and
# factor-1 plan (FLY_EXP_* in the experiment build of MonarchKernel.cpp).
#   -> .carry/bTAG (benchmark artifacts), .carry/c16/*-TAG (checks, beside
#      the references/inputs copied from .carry/c15)
set -euo pipefail
tag=${1:?usage: make16.sh TAG SCHEDULE [F2_STAGES [F1_WG F1_STAGES]]}
schedule=${2:?usage}
[ -n "${3:-}" ] && export FLY_EXP_F2_STAGES=$3
[ -n "${4:-}" ] && export FLY_EXP_F1_WG=$4 FLY_EXP_F1_STAGES=$5
export FLY_CUDA_FLAGS="--monarch-hidden-schedule=$schedule"
build=build; compile=$build/bin/fly-compile
b=.carry/b$tag; c=.carry/c16
rm -rf $b $c/*-$tag.fly; mkdir -p $c
tools/bench/gpu-make-artifacts.sh $build $b 8,16,32 monarch:4 2>/dev/null
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
for bt in 2x128 34x127; do
  bb=${bt%x*}; t=${bt#*x}
  "$compile" "$tmp/model" --batch $bb --seq $t --part body --structure mlp=monarch:4 \
    --target cuda --dtype f16 $FLY_CUDA_FLAGS --quiet -o $c/gpt2-d256-monarch-$bt.cuda-f16-$tag.fly
done
"$compile" tools/bench/configs/gpt2 --weights random --part mlp --batch 6 --seq 1017 \
  --structure mlp=monarch:4:init=random --target cuda --dtype f16 $FLY_CUDA_FLAGS --quiet \
  -o $c/gpt2s-mlp-6x1017.cuda-f16-$tag.fly
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 \
  $FLY_CUDA_FLAGS --quiet -o $c/tiny-vit-monarch.cuda-f16-$tag.fly
rm -rf "$tmp"
[ -d $c/nlohmann ] || cp -r /usr/include/nlohmann $c/
cp -n .carry/c15/*.ref.npy .carry/c15/*.inputs.f16.npy $c/
du -sh $b $c

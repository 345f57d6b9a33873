#!/usr/bin/env bash
# Fifteenth session: artifacts of the working tree's kernels for the device,
# with the Monarch MLP hidden kernel's schedule SCHEDULE (lockstep | producer
# | pingpong: fly-compile --monarch-hidden-schedule).
#   make15.sh TAG SCHEDULE  ->  .carry/bTAG      benchmark artifacts
#                      .carry/c15/*-TAG check artifacts, beside the shared
#                                       references/inputs (from .carry/c14c)
set -euo pipefail
tag=${1:?usage: make15.sh TAG SCHEDULE}
schedule=${2:?usage: make15.sh TAG SCHEDULE}
export FLY_CUDA_FLAGS="--monarch-hidden-schedule=$schedule"
build=build; compile=$build/bin/fly-compile
b=.carry/b$tag; c=.carry/c15
rm -rf $b $c/*-$tag.fly; mkdir -p $c
tools/bench/gpu-make-artifacts.sh $build $b 8,16,32 monarch:4 2>/dev/null
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
for bt in 2x128 34x127; do
  bb=${bt%x*}; t=${bt#*x}
  "$compile" "$tmp/model" --batch $bb --seq $t --part body --structure mlp=monarch:4 \
    --target cuda --dtype f16 $FLY_CUDA_FLAGS --quiet -o $c/gpt2-d256-monarch-$bt.cuda-f16-$tag.fly
done
"$compile" "$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4 \
  --target cuda --dtype bf16 $FLY_CUDA_FLAGS --quiet -o $c/gpt2-d256-monarch-2x128.cuda-bf16-$tag.fly
for bt in 1x200 6x1017; do
  bb=${bt%x*}; t=${bt#*x}
  "$compile" tools/bench/configs/gpt2 --weights random --part mlp --batch $bb --seq $t \
    --structure mlp=monarch:4:init=random --target cuda --dtype f16 $FLY_CUDA_FLAGS --quiet \
    -o $c/gpt2s-mlp-$bt.cuda-f16-$tag.fly
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 \
  $FLY_CUDA_FLAGS --quiet -o $c/tiny-vit-monarch.cuda-f16-$tag.fly
rm -rf "$tmp"
[ -d $c/nlohmann ] || cp -r /usr/include/nlohmann $c/
cp -n .carry/c14c/*.ref.npy .carry/c14c/*.inputs.f16.npy $c/
du -sh $b $c
# 64 MiB of carry: run15a.sh's check set leaves out the 200-row MLP and
# 15q's bf16 body.
rm -rf $c/gpt2s-mlp-1x200.* $c/gpt2-d256-monarch-2x128.cuda-bf16-15q.fly

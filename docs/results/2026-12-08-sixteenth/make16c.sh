#!/usr/bin/env bash
# Sixteenth session, second set: checks that give persistent factor-2 CTAs
# several row tiles (more than 132 of 64 rows), against fly's CPU pipeline
# run on the device (NAME.cpu.fly, same seeded weights and inputs).
#   make16c.sh TAG SCHEDULE [PERSIST]
# SCHEDULE: fly-compile --monarch-hidden-schedule; PERSIST=1 sets
# FLY_EXP_F2_PERSIST (the experiment build's persistent factor 2).
#   -> .carry/bTAG (benchmark artifacts), .carry/c16c/*-TAG (checks)
set -euo pipefail
tag=${1:?usage: make16c.sh TAG SCHEDULE [PERSIST]}
schedule=${2:?usage}
[ -n "${3:-}" ] && export FLY_EXP_F2_PERSIST=1
flags="--monarch-hidden-schedule=$schedule"
build=build; compile=$build/bin/fly-compile
b=.carry/b$tag; c=.carry/c16c
rm -rf $b $c/*-$tag.fly; mkdir -p $c
FLY_CUDA_FLAGS="$flags" tools/bench/gpu-make-artifacts.sh $build $b 8,16,32 monarch:4 2>/dev/null
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
# d256 body: 2 x 128 (HF reference from c15) and 72 x 127 = 9144 rows (143
# row tiles, the last one of 56 rows) against the CPU pipeline.
"$compile" "$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4 \
  --target cuda --dtype f16 $flags --quiet -o $c/gpt2-d256-monarch-2x128.cuda-f16-$tag.fly
"$compile" "$tmp/model" --batch 72 --seq 127 --part body --structure mlp=monarch:4 \
  --target cuda --dtype f16 $flags --quiet -o $c/gpt2-d256-monarch-72x127.cuda-f16-$tag.fly
[ -d $c/gpt2-d256-monarch-72x127.cpu.fly ] || "$compile" "$tmp/model" --batch 72 --seq 127 \
  --part body --structure mlp=monarch:4 --quiet -o $c/gpt2-d256-monarch-72x127.cpu.fly
# GPT-2 small's Monarch MLP, 17 x 1017 = 17289 rows (271 row tiles, the
# last one of 9 rows).
mlp=(tools/bench/configs/gpt2 --weights random --part mlp --batch 17 --seq 1017
     --structure mlp=monarch:4:init=random --quiet)
"$compile" "${mlp[@]}" --target cuda --dtype f16 $flags -o $c/gpt2s-mlp-17x1017.cuda-f16-$tag.fly
[ -d $c/gpt2s-mlp-17x1017.cpu.fly ] || "$compile" "${mlp[@]}" -o $c/gpt2s-mlp-17x1017.cpu.fly
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 \
  $flags --quiet -o $c/tiny-vit-monarch.cuda-f16-$tag.fly
rm -rf "$tmp"
[ -d $c/nlohmann ] || cp -r /usr/include/nlohmann $c/
cp -n .carry/c15/gpt2-d256-monarch-2x128.ref.npy .carry/c15/tiny-vit-monarch.ref.npy $c/
du -sh $b $c

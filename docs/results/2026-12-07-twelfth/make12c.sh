#!/usr/bin/env bash
# Twelfth session, here: after make12.sh and make12b.sh (into CHECK_DIR),
# the build with H in registers too (acc += H . w1 as register-A wgmmas):
# TAG=hregs (S's G also from registers) or, with FLY_EXP_NO_GREGS=1 (an
# experiment-only switch of that build), TAG=honly. Check artifacts as
# NAME.cuda-f16-TAG.fly without their weights (identical to the -gregs
# artifact's of the same NAME and dtype; the device script copies them
# back, to keep the carry small), and Monarch benchmark artifacts.
set -euo pipefail
build=build; art=${1:?check dir}; bench=${2:?bench dir}; tag=${3:?tag}
compile="$build/bin/fly-compile"
rm -rf "$bench"
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
"$compile" "$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4 --target cuda --dtype f16 --quiet -o "$art/gpt2-d256-monarch.cuda-f16-$tag.fly"
for bt in 1x200 6x1017; do
  b=${bt%x*}; t=${bt#*x}
  "$compile" tools/bench/configs/gpt2 --weights random --part mlp --batch $b --seq $t --structure mlp=monarch:4:init=random \
    --target cuda --dtype f16 --quiet -o "$art/gpt2s-mlp-$bt.cuda-f16-$tag.fly"
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 --quiet -o "$art/tiny-vit-monarch.cuda-f16-$tag.fly"
for d in "$art"/*-"$tag".fly; do
  cmp "$d/weights.safetensors" "${d%-$tag.fly}-gregs.fly/weights.safetensors"
  rm "$d/weights.safetensors"
done
rm -rf "$tmp"
du -sh "$art"
tools/bench/gpu-make-artifacts.sh $build "$bench" 8,16,32 monarch:4

#!/usr/bin/env bash
# Twelfth session, here: after make12.sh (persistent factor 1 only, into
# CHECK_DIR), the same build plus S's A (G) from registers: its check
# artifacts as NAME.cuda-{f16,bf16}-gregs.fly beside the first ones (same
# inputs and references), and its Monarch benchmark artifacts. The first
# build's d256 and ViT artifacts are dropped to keep the device's carry
# small (the persistent factor 1 runs in the gregs ones too).
set -euo pipefail
build=build; art=${1:?check dir}; bench=${2:?bench dir}
compile="$build/bin/fly-compile"
rm -rf "$art"/gpt2-d256-*.fly "$art"/tiny-vit-*.fly "$bench"
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
d256=("$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4)
for dt in f16 bf16; do
  "$compile" "${d256[@]}" --target cuda --dtype $dt --quiet -o "$art/gpt2-d256-monarch.cuda-$dt-gregs.fly"
done
for bt in 1x200 6x1017; do
  b=${bt%x*}; t=${bt#*x}
  "$compile" tools/bench/configs/gpt2 --weights random --part mlp --batch $b --seq $t --structure mlp=monarch:4:init=random \
    --target cuda --dtype f16 --quiet -o "$art/gpt2s-mlp-$bt.cuda-f16-gregs.fly"
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 --quiet -o "$art/tiny-vit-monarch.cuda-f16-gregs.fly"
rm -rf "$tmp"
du -sh "$art"
tools/bench/gpu-make-artifacts.sh $build "$bench" 8,16,32 monarch:4
du -sh .carry/*

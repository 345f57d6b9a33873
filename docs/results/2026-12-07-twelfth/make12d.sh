#!/usr/bin/env bash
# Twelfth session, here: check artifacts (CHECK_DIR, with the inputs and
# references of make12.sh's FROM_DIR) and Monarch benchmark artifacts of
# the current build: b20 = b17 (persistent factor 1, S's G from registers)
# with one G buffer -- G[ll+1] loads as soon as G[ll] is in registers --
# and the freed 48 KB as a third ring slot (the w1 tiles then load two
# steps ahead instead of one); h' staged through the ring.
set -euo pipefail
build=build; from=${1:?from dir}; art=${2:?check dir}; bench=${3:?bench dir}
compile="$build/bin/fly-compile"
rm -rf "$art" "$bench"; mkdir -p "$art"; cp -r /usr/include/nlohmann "$art/"
cp "$from"/*.npy "$art/"
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
for dt in f16 bf16; do
  "$compile" "$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4 --target cuda --dtype $dt --quiet -o "$art/gpt2-d256-monarch.cuda-$dt.fly"
done
for bt in 1x200 6x1017; do
  b=${bt%x*}; t=${bt#*x}
  "$compile" tools/bench/configs/gpt2 --weights random --part mlp --batch $b --seq $t --structure mlp=monarch:4:init=random \
    --target cuda --dtype f16 --quiet -o "$art/gpt2s-mlp-$bt.cuda-f16.fly"
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 --quiet -o "$art/tiny-vit-monarch.cuda-f16.fly"
rm -rf "$tmp"
du -sh "$art"
tools/bench/gpu-make-artifacts.sh $build "$bench" 8,16,32 monarch:4

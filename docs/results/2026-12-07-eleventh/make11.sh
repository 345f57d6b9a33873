#!/usr/bin/env bash
# Eleventh session, here: the check set for the Monarch MLP hidden kernel
# (default --monarch-mlp=hidden; d256 body with folded LayerNorms in f16 and
# bf16, the GPT-2-small MLP at 200 and 1024 rows, tiny ViT with Monarch
# MLPs) against CPU references, and the Monarch benchmark artifacts (B side
# of gpu_ab.py; the A side is the previous build's .carry/b10).
set -euo pipefail
build=build; art=${1:-.carry/c11}; bench=${2:-.carry/b11}
compile="$build/bin/fly-compile"
rm -rf "$art" "$bench"; mkdir -p "$art"; cp -r /usr/include/nlohmann "$art/"
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
d256=("$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4)
"$compile" "${d256[@]}" --pipeline reference --quiet -o "$tmp/d256m.cpu.fly"
"$build/bin/fly-run" "$tmp/d256m.cpu.fly" --iters 1 --warmup 0 --quiet --output "$art/gpt2-d256-monarch.ref.npy"
for dt in f16 bf16; do
  "$compile" "${d256[@]}" --target cuda --dtype $dt --quiet -o "$art/gpt2-d256-monarch.cuda-$dt.fly"
done
"$compile" "${d256[@]}" --target cuda --dtype f16 --monarch-mlp=pair --quiet -o "$art/gpt2-d256-monarch.cuda-f16-pair.fly"
for t in 200 1024; do
  s=(tools/bench/configs/gpt2 --weights random --part mlp --batch 1 --seq $t --structure mlp=monarch:4:init=random)
  "$compile" "${s[@]}" --pipeline reference --quiet -o "$tmp/s$t.cpu.fly"
  "$compile" "${s[@]}" --target cuda --dtype f16 --quiet -o "$art/gpt2s-mlp-t$t.cuda-f16.fly"
  python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(7).standard_normal((1, $t, 768)).astype(np.float32))" "$art/gpt2s-mlp-t$t.inputs.npy"
  "$build/bin/fly-run" "$tmp/s$t.cpu.fly" --input "$art/gpt2s-mlp-t$t.inputs.npy" --iters 1 --warmup 0 --quiet --output "$art/gpt2s-mlp-t$t.ref.npy"
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --pipeline reference --quiet -o "$tmp/vit.cpu.fly"
"$build/bin/fly-run" "$tmp/vit.cpu.fly" --iters 1 --warmup 0 --quiet --output "$art/tiny-vit-monarch.ref.npy"
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 --quiet -o "$art/tiny-vit-monarch.cuda-f16.fly"
rm -rf "$tmp"
du -sh "$art"
tools/bench/gpu-make-artifacts.sh $build "$bench" 8,16,32 monarch:4
du -sh .carry/*

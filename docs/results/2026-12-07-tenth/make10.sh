#!/usr/bin/env bash
# Tenth session, here: the check set for the Monarch MLP hidden kernel
# (--monarch-mlp=hidden) and the benchmark artifacts of both MLP forms.
set -euo pipefail
build=build; art=.carry/c10; src=$(pwd)
compile="$build/bin/fly-compile"
mkdir -p "$art"; cp -r /usr/include/nlohmann "$art/"
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
d256=("$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4)
"$compile" "${d256[@]}" --pipeline reference --quiet -o "$tmp/d256m.cpu.fly"
"$build/bin/fly-run" "$tmp/d256m.cpu.fly" --iters 1 --warmup 0 --quiet --output "$art/gpt2-d256-monarch.ref.npy"
for dt in f16 bf16; do
  "$compile" "${d256[@]}" --target cuda --dtype $dt --monarch-mlp=hidden --quiet -o "$art/gpt2-d256-monarch.cuda-hidden-$dt.fly"
done
"$compile" "${d256[@]}" --target cuda --dtype f16 --quiet -o "$art/gpt2-d256-monarch.cuda-f16-pair.fly"
for t in 200 1024; do
  s=(tools/bench/configs/gpt2 --weights random --part mlp --batch 1 --seq $t --structure mlp=monarch:4:init=random)
  "$compile" "${s[@]}" --pipeline reference --quiet -o "$tmp/s$t.cpu.fly"
  "$compile" "${s[@]}" --target cuda --dtype f16 --monarch-mlp=hidden --quiet -o "$art/gpt2s-mlp-t$t.cuda-f16-hidden.fly"
  "$compile" "${s[@]}" --target cuda --dtype f16 --quiet -o "$art/gpt2s-mlp-t$t.cuda-f16-pair.fly"
  python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(7).standard_normal((1, $t, 768)).astype(np.float32))" "$art/gpt2s-mlp-t$t.inputs.npy"
  "$build/bin/fly-run" "$tmp/s$t.cpu.fly" --input "$art/gpt2s-mlp-t$t.inputs.npy" --iters 1 --warmup 0 --quiet --output "$art/gpt2s-mlp-t$t.ref.npy"
done
rm -rf "$tmp"
# Weights: the cuda artifacts of gpt2s carry random-weight specs only? keep sizes small.
du -sh "$art"
tools/bench/gpu-make-artifacts.sh $build .carry/bp 8,16,32 monarch:4
FLY_CUDA_FLAGS=--monarch-mlp=hidden tools/bench/gpu-make-artifacts.sh $build .carry/bh 8,16,32 monarch:4
du -sh .carry/*

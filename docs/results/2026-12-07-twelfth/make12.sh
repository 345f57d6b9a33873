#!/usr/bin/env bash
# Twelfth session, here: the check set of make11.sh (d256 Monarch body f16 /
# bf16 / pair, GPT-2-small MLP at 200 rows, tiny ViT with Monarch MLPs)
# plus a GPT-2-small MLP of 6 x 1017 rows (48 row tiles, the last partial:
# 192 items for the persistent factor 1's 132 CTAs, so some CTAs take two),
# whose inputs and CPU reference travel as f16 (the inputs are f16 values,
# so both sides read the same numbers; device: *.inputs.f16.npy -> f32),
# and the Monarch benchmark artifacts.
set -euo pipefail
build=build; art=${1:?check dir}; bench=${2:?bench dir}
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
for bt in 1x200 6x1017; do
  b=${bt%x*}; t=${bt#*x}; name=gpt2s-mlp-$bt
  s=(tools/bench/configs/gpt2 --weights random --part mlp --batch $b --seq $t --structure mlp=monarch:4:init=random)
  "$compile" "${s[@]}" --pipeline reference --quiet -o "$tmp/$name.cpu.fly"
  "$compile" "${s[@]}" --target cuda --dtype f16 --quiet -o "$art/$name.cuda-f16.fly"
  python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(7).standard_normal(($b, $t, 768)).astype(np.float16).astype(np.float32))" "$tmp/$name.inputs.npy"
  "$build/bin/fly-run" "$tmp/$name.cpu.fly" --input "$tmp/$name.inputs.npy" --iters 1 --warmup 0 --quiet --output "$tmp/$name.ref.npy"
  if [ $b = 1 ]; then
    cp "$tmp/$name.inputs.npy" "$tmp/$name.ref.npy" "$art/"
  else
    python3 -c "import numpy as np, sys; [np.save(sys.argv[i + 1], np.load(sys.argv[i]).astype(np.float16)) for i in (1, 3)]" \
      "$tmp/$name.inputs.npy" "$art/$name.inputs.f16.npy" "$tmp/$name.ref.npy" "$art/$name.ref.npy"
  fi
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --pipeline reference --quiet -o "$tmp/vit.cpu.fly"
"$build/bin/fly-run" "$tmp/vit.cpu.fly" --iters 1 --warmup 0 --quiet --output "$art/tiny-vit-monarch.ref.npy"
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 --quiet -o "$art/tiny-vit-monarch.cuda-f16.fly"
rm -rf "$tmp"
du -sh "$art"
tools/bench/gpu-make-artifacts.sh $build "$bench" 8,16,32 monarch:4
du -sh .carry/*

#!/usr/bin/env bash
# Persistent hidden kernel (persistent-hidden.diff), here, in two builds:
#   1. at the commit of this directory (HEAD): bash THIS A_BENCH
#      -> Monarch benchmark artifacts of the landed kernels (A side);
#   2. after `git apply persistent-hidden.diff` and `ninja -C build`:
#      bash THIS B_BENCH CHECK_DIR
#      -> B side, and the check set: the d256 Monarch body (folded
#      LayerNorm in the hidden kernel) at 2 x 128 and 34 x 127 rows (136
#      items for 132 CTAs: some CTAs take two, with per-item row
#      statistics), the GPT-2-small Monarch MLP at 200 and 6 x 1017 rows
#      (192 items), the tiny ViT, each against a CPU reference made here
#      (the 6 x 1017 inputs/reference as f16: convert the inputs on the
#      device, see run.sh).
set -euo pipefail
build=build; bench=${1:?bench dir}; art=${2:-}
tools/bench/gpu-make-artifacts.sh $build "$bench" 8,16,32 monarch:4
[ -n "$art" ] || exit 0
compile="$build/bin/fly-compile"
rm -rf "$art"; mkdir -p "$art"; cp -r /usr/include/nlohmann "$art/"
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
for bt in 2x128 34x127; do
  b=${bt%x*}; t=${bt#*x}; name=gpt2-d256-monarch-$bt
  d=("$tmp/model" --batch $b --seq $t --part body --structure mlp=monarch:4)
  "$compile" "${d[@]}" --pipeline reference --quiet -o "$tmp/$name.cpu.fly"
  "$build/bin/fly-run" "$tmp/$name.cpu.fly" --iters 1 --warmup 0 --quiet --output "$art/$name.ref.npy"
  "$compile" "${d[@]}" --target cuda --dtype f16 --quiet -o "$art/$name.cuda-f16.fly"
done
for bt in 1x200 6x1017; do
  b=${bt%x*}; t=${bt#*x}; name=gpt2s-mlp-$bt
  s=(tools/bench/configs/gpt2 --weights random --part mlp --batch $b --seq $t --structure mlp=monarch:4:init=random)
  "$compile" "${s[@]}" --pipeline reference --quiet -o "$tmp/$name.cpu.fly"
  "$compile" "${s[@]}" --target cuda --dtype f16 --quiet -o "$art/$name.cuda-f16.fly"
  python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(7).standard_normal(($b, $t, 768)).astype(np.float16).astype(np.float32))" "$tmp/$name.inputs.npy"
  "$build/bin/fly-run" "$tmp/$name.cpu.fly" --input "$tmp/$name.inputs.npy" --iters 1 --warmup 0 --quiet --output "$tmp/$name.ref.npy"
  python3 -c "import numpy as np, sys; [np.save(sys.argv[i + 1], np.load(sys.argv[i]).astype(np.float16)) for i in (1, 3)]" \
    "$tmp/$name.inputs.npy" "$art/$name.inputs.f16.npy" "$tmp/$name.ref.npy" "$art/$name.ref.npy"
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --pipeline reference --quiet -o "$tmp/vit.cpu.fly"
"$build/bin/fly-run" "$tmp/vit.cpu.fly" --iters 1 --warmup 0 --quiet --output "$art/tiny-vit-monarch.ref.npy"
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 --quiet -o "$art/tiny-vit-monarch.cuda-f16.fly"
rm -rf "$tmp"
du -sh "$art" "$bench"

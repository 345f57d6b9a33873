#!/usr/bin/env bash
# Thirteenth session: the cluster-epilogue Monarch MLP (--monarch-mlp=cluster).
#   .carry/bcl  benchmark artifacts (B side; A = .carry/b15a, HEAD's kernels)
#   .carry/ccl  checks: tag -cl, references/inputs from .carry/cnext
set -euo pipefail
build=build; compile=$build/bin/fly-compile
rm -rf .carry/bcl .carry/ccl; mkdir -p .carry/ccl; cp -r /usr/include/nlohmann .carry/ccl/
FLY_CUDA_FLAGS="--monarch-mlp=cluster" tools/bench/gpu-make-artifacts.sh $build .carry/bcl 8,16,32 monarch:4 2>/dev/null
tmp=$(mktemp -d)
python3 test/Models/oracle/make_model.py gpt2-d256 "$tmp/model"
for bt in 2x128 34x127; do
  b=${bt%x*}; t=${bt#*x}; name=gpt2-d256-monarch-$bt
  d=("$tmp/model" --batch $b --seq $t --part body --structure mlp=monarch:4)
  "$compile" "${d[@]}" --target cuda --dtype f16 --monarch-mlp=cluster --quiet -o .carry/ccl/$name.cuda-f16-cl.fly
done
"$compile" "$tmp/model" --batch 2 --seq 128 --part body --structure mlp=monarch:4 --target cuda --dtype bf16 --monarch-mlp=cluster --quiet -o .carry/ccl/gpt2-d256-monarch-2x128.cuda-bf16-cl.fly
for bt in 1x200 6x1017; do
  b=${bt%x*}; t=${bt#*x}; name=gpt2s-mlp-$bt
  s=(tools/bench/configs/gpt2 --weights random --part mlp --batch $b --seq $t --structure mlp=monarch:4:init=random)
  "$compile" "${s[@]}" --target cuda --dtype f16 --monarch-mlp=cluster --quiet -o .carry/ccl/$name.cuda-f16-cl.fly
done
"$compile" tiny-vit --batch 2 --structure mlp=monarch:4 --target cuda --dtype f16 --monarch-mlp=cluster --quiet -o .carry/ccl/tiny-vit-monarch.cuda-f16-cl.fly || echo "tiny-vit: no cluster form"
rm -rf "$tmp"
cp .carry/cnext/*.ref.npy .carry/cnext/*.inputs.f16.npy .carry/ccl/
# Weights identical to the landed artifacts' (same permutations): keep one copy.
for d in .carry/ccl/*-cl.fly; do
  base=.carry/cnext/$(basename ${d%-cl.fly}).fly
  [ -f $base/weights.safetensors ] && cmp -s $d/weights.safetensors $base/weights.safetensors && echo "same weights: $d"
done
du -sh .carry/bcl .carry/ccl

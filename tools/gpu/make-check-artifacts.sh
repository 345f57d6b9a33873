#!/usr/bin/env bash
# On the CPU machine: compiles the embedded tiny models for the CPU and for
# CUDA (f32 and f16) into ARTIFACT_DIR for tools/gpu/device-check.sh, and
# copies the nlohmann headers the GPU machine lacks.
#
#   tools/gpu/make-check-artifacts.sh BUILD_DIR ARTIFACT_DIR
set -euo pipefail
build=${1:?usage: make-check-artifacts.sh BUILD_DIR ARTIFACT_DIR}
art=${2:?usage: make-check-artifacts.sh BUILD_DIR ARTIFACT_DIR}
compile="$build/bin/fly-compile"
mkdir -p "$art"
cp -r /usr/include/nlohmann "$art/"
gen() { "$compile" "$@" --quiet; }
gen tiny-gpt2 --batch 2 --seq 32 --pipeline reference -o "$art/tiny-gpt2.cpu.fly"
gen tiny-gpt2 --batch 2 --seq 32 --target cuda --dtype f32 -o "$art/tiny-gpt2.cuda-f32.fly"
gen tiny-gpt2 --batch 2 --seq 32 --target cuda --dtype f16 -o "$art/tiny-gpt2.cuda-f16.fly"
gen tiny-vit --batch 2 --pipeline reference -o "$art/tiny-vit.cpu.fly"
gen tiny-vit --batch 2 --target cuda --dtype f16 -o "$art/tiny-vit.cuda-f16.fly"
du -sh "$art"

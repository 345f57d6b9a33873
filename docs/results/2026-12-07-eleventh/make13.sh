#!/usr/bin/env bash
# Eleventh session, here: the warp-specialised hidden kernel (producer
# warp, per-slot empty barriers, no CTA barrier in the loop): the check set
# (.carry/c13) and benchmark artifacts as compiled (.carry/b13: 288
# threads, ptxas caps registers at 168) and with .maxnreg 224
# (FLY_HIDDEN_MAXNREG, an experiment hook: .carry/b14, plus one 200-row
# check artifact).
set -euo pipefail
rm -rf .carry/b11 .carry/c12 .carry/b12
bash docs/results/2026-12-07-eleventh/make11.sh .carry/c13 .carry/b13
s=(tools/bench/configs/gpt2 --weights random --part mlp --batch 1 --seq 200 --structure mlp=monarch:4:init=random)
FLY_HIDDEN_MAXNREG=224 build/bin/fly-compile "${s[@]}" --target cuda --dtype f16 --quiet -o .carry/c13/gpt2s-mlp-t200.cuda-f16-maxnreg.fly
FLY_HIDDEN_MAXNREG=224 tools/bench/gpu-make-artifacts.sh build .carry/b14 8,16,32 monarch:4
du -sh .carry/*

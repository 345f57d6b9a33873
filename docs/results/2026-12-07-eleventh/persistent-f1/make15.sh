#!/usr/bin/env bash
# Eleventh session, here: the persistent factor-1 kernel of the Monarch MLP
# (w1[kk] resident, x tiles streamed across a CTA's row tiles): check set
# .carry/c15, benchmark artifacts .carry/b15, and the same build with the
# one-shot factor 1 (FLY_TMP_F1_ONESHOT, a temporary A/B hook) in .carry/b15a.
set -euo pipefail
rm -rf .carry/b13 .carry/c13 .carry/b15a
bash docs/results/2026-12-07-eleventh/make11.sh .carry/c15 .carry/b15
FLY_TMP_F1_ONESHOT=1 tools/bench/gpu-make-artifacts.sh build .carry/b15a 8,16,32 monarch:4
du -sh .carry/*

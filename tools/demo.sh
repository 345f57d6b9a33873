#!/usr/bin/env bash
# The main job: sets up and builds fly, compiles a model for the CPU and runs
# it, printing timings and an output summary.
#   tools/demo.sh                 # embedded tiny GPT-2 (no files needed)
#   tools/demo.sh MODEL_DIR ...   # any fly-compile arguments
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh
BUILD_DIR=${FLY_BUILD_DIR:-build}
OUT=${FLY_DEMO_OUT:-$BUILD_DIR/demo.fly}

rm -rf "$OUT"
"$BUILD_DIR/bin/fly-compile" "$@" --target cpu -o "$OUT"
"$BUILD_DIR/bin/fly-run" "$OUT" --iters 20 --warmup 3

#!/usr/bin/env bash
# On the GPU machine: builds and runs the wgmma throughput microbenchmark
# (wgmma_rate.cu; nvcc from the CUDA toolkit) and prints its table.
#   tools/gpu/wgmma-rate/run.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/fly-wgmma-rate}
mkdir -p "$out"
nvcc=${CUDA_HOME:-/usr/local/cuda}/bin/nvcc
"$nvcc" -O3 -gencode arch=compute_90a,code=sm_90a -I"$here" \
  -o "$out/wgmma_rate" "$here/wgmma_rate.cu"
"$out/wgmma_rate"

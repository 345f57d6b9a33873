#!/usr/bin/env bash
# Fourteenth session, device call 1: where factor 1 and factor 2 of the
# Monarch MLP lose bandwidth (51-55 and 59 us at b32 for ~100 MB each):
# Nsight Compute on both kernels of HEAD's b32 MLP artifact.
#   carry: .carry/nl .carry/b15a
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
$run .carry/b15a/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile $OUT/trace-b32.json 2>&1 | tail -12
for k in f1 f2; do
  tools/gpu/ncu-kernel.sh $run .carry/b15a/gpt2-mlp-monarch4-b32.fly "split_$k\$" head-$k $OUT
  echo "ncu $k done at ${SECONDS}s"
done

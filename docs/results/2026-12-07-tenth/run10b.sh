#!/usr/bin/env bash
# Tenth session, call 4: Nsight Compute on the Monarch MLP kernels at b8,
# two kernels (bp) and three (bh, the hidden layer on chip): throughput
# sections and warp-stall sampling per kernel.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/info-ncu.txt
run=$(tools/gpu/build-runtime.sh .carry/c10 /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
ncu --version | tail -1
for x in bp:2 bh:3; do
  tag=${x%%:*}; n=${x##*:}
  timeout 200 ncu --kernel-name regex:fly_monarch --launch-skip $n --launch-count $n --set full -o /tmp/ncu-$tag \
    $run .carry/$tag/gpt2-mlp-monarch4-b8.fly --weights random --iters 2 --warmup 1 --cuda-graph off > $OUT/ncu-$tag.log 2>&1
  echo "ncu $tag exit $? at ${SECONDS}s"
  ncu --import /tmp/ncu-$tag.ncu-rep --page details --csv > $OUT/ncu-$tag-details.csv 2>&1
  ncu --import /tmp/ncu-$tag.ncu-rep --page source --print-source sass --csv > /tmp/ncu-$tag-src.csv 2>/dev/null
  python3 tools/gpu/ncu_stalls.py /tmp/ncu-$tag-src.csv --top 10 > $OUT/ncu-$tag-stalls.txt 2>&1
  grep -E '"(Duration|Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|DRAM Throughput|L1/TEX Cache Throughput|Achieved Occupancy|Registers Per Thread|Dynamic Shared Memory Per Block)"' $OUT/ncu-$tag-details.csv | cut -d, -f5,12-16 | head -40
done
echo "done at ${SECONDS}s"

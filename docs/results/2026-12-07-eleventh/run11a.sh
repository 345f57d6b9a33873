#!/usr/bin/env bash
# Eleventh session, call 1: Nsight Compute on the landed Monarch MLP kernels
# (three-kernel form, HEAD ed79f76) at b8: throughput sections and
# warp-stall sampling per kernel, to pick the next lever for the MLP target.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/info-ncu.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
ncu --version | tail -1
tag=bh
timeout 300 ncu --kernel-name regex:fly_monarch --launch-skip 3 --launch-count 3 --set full --import-source no -o /tmp/ncu-$tag \
  $run .carry/b10/gpt2-mlp-monarch4-b8.fly --weights random --iters 2 --warmup 1 --cuda-graph off > $OUT/ncu-$tag.log 2>&1
echo "ncu $tag exit $? at ${SECONDS}s"
ncu --import /tmp/ncu-$tag.ncu-rep --page details --csv > $OUT/ncu-$tag-details.csv 2>&1
ncu --import /tmp/ncu-$tag.ncu-rep --page source --print-source sass --csv > /tmp/ncu-$tag-src.csv 2>/dev/null
python3 tools/gpu/ncu_stalls.py /tmp/ncu-$tag-src.csv --top 25 > $OUT/ncu-$tag-stalls.txt 2>&1
grep -E '"(Duration|Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|DRAM Throughput|L1/TEX Cache Throughput|Achieved Occupancy|Registers Per Thread|Dynamic Shared Memory Per Block|Issue Slots Busy|SM Frequency)"' $OUT/ncu-$tag-details.csv | cut -d, -f5,12-16 | head -60
gzip -k /tmp/ncu-$tag-src.csv; cp /tmp/ncu-$tag-src.csv.gz $OUT/
echo "done at ${SECONDS}s"

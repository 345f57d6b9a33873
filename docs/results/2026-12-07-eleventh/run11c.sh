#!/usr/bin/env bash
# Eleventh session, call 3: Nsight Compute on the overlapped hidden kernel
# (.carry/b11, S(st) and acc(st-1) overlapped) at b32: throughput sections and
# warp-stall sampling per kernel, to pick the next lever for the MLP target.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/info-ncu.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
ncu --version | tail -1
tag=b11
timeout 300 ncu --launch-skip 1 --launch-count 1 --kernel-name regex:hidden --set full --import-source no -o /tmp/ncu-$tag \
  $run .carry/b11/gpt2-mlp-monarch4-b32.fly --weights random --iters 2 --warmup 1 --cuda-graph off > $OUT/ncu-$tag.log 2>&1
echo "ncu $tag exit $? at ${SECONDS}s"
ncu --import /tmp/ncu-$tag.ncu-rep --page details --csv > $OUT/ncu-$tag-details.csv 2>&1
ncu --import /tmp/ncu-$tag.ncu-rep --page source --print-source sass --csv > /tmp/ncu-$tag-src.csv 2>/dev/null
python3 tools/gpu/ncu_stalls.py /tmp/ncu-$tag-src.csv --top 25 > $OUT/ncu-$tag-stalls.txt 2>&1
gzip -k /tmp/ncu-$tag-src.csv; cp /tmp/ncu-$tag-src.csv.gz $OUT/
echo "done at ${SECONDS}s"

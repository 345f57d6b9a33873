#!/usr/bin/env bash
# Twelfth session, call 4: Nsight Compute on the hidden kernel with S's A
# operand (G) from registers (.carry/b17, 178 us at b32 against 170 for the
# landed kernel, whose profile is docs/results/2026-12-07-eleventh/
# ncu-overlap): why register-A wgmmas made it slower.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/info-ncu.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
ncu --version | tail -1
tag=b17
timeout 400 ncu --launch-skip 1 --launch-count 1 --kernel-name regex:hidden --set full --import-source no -o /tmp/ncu-$tag \
  $run .carry/b17/gpt2-mlp-monarch4-b32.fly --weights random --iters 2 --warmup 1 --cuda-graph off > $OUT/ncu-$tag.log 2>&1
echo "ncu $tag exit $? at ${SECONDS}s"
ncu --import /tmp/ncu-$tag.ncu-rep --page details --csv > $OUT/ncu-$tag-details.csv 2>&1
ncu --import /tmp/ncu-$tag.ncu-rep --page source --print-source sass --csv > /tmp/ncu-$tag-src.csv 2>/dev/null
python3 tools/gpu/ncu_stalls.py /tmp/ncu-$tag-src.csv --top 25 > $OUT/ncu-$tag-stalls.txt 2>&1
head -20 $OUT/ncu-$tag-stalls.txt
grep -E '"(Duration|Compute \(SM\) Throughput|Memory Throughput|Issue Slots Busy|Shared Memory|Registers Per Thread|Achieved Occupancy)"' $OUT/ncu-$tag-details.csv | cut -d, -f12- | head -20
echo "done at ${SECONDS}s"

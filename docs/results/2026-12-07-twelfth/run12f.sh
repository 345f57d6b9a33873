#!/usr/bin/env bash
# Twelfth session, call 5: Nsight Compute (same run, same settings as
# run12e.sh) on the hidden kernel of the landed build (.carry/b15a) and of
# b19 (H in registers, S from shared memory), to compare with b17's.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/info-ncu.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
for tag in b15a b19 b17; do
  timeout 150 ncu --launch-skip 1 --launch-count 1 --kernel-name regex:hidden --set full --import-source no -o /tmp/ncu-$tag \
    $run .carry/$tag/gpt2-mlp-monarch4-b32.fly --weights random --iters 2 --warmup 1 --cuda-graph off > $OUT/ncu-$tag.log 2>&1
  echo "ncu $tag exit $? at ${SECONDS}s"
  ncu --import /tmp/ncu-$tag.ncu-rep --page details --csv > $OUT/ncu-$tag-details.csv 2>&1
  ncu --import /tmp/ncu-$tag.ncu-rep --page source --print-source sass --csv > /tmp/ncu-$tag-src.csv 2>/dev/null
  python3 tools/gpu/ncu_stalls.py /tmp/ncu-$tag-src.csv --top 25 > $OUT/ncu-$tag-stalls.txt 2>&1
  sed -n 2p $OUT/ncu-$tag-stalls.txt
  grep -E '"(Duration|Compute \(SM\) Throughput|Issue Slots Busy|Executed Ipc Active|L1/TEX Hit Rate|Shared Memory|Registers Per Thread)"' $OUT/ncu-$tag-details.csv | cut -d, -f13- | head -12
done
echo "done at ${SECONDS}s"

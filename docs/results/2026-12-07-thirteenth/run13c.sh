#!/usr/bin/env bash
# Thirteenth session, device call 2: Nsight Compute on the cluster-epilogue
# hidden kernel at b32 (285 us against 171 + 59 for hidden + factor 2 in
# call 1): where the epilogue's time goes, and the cluster occupancy.
#   carry: .carry/nl .carry/bcl
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/info-ncu.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
ncu --version | tail -1
tag=cluster
timeout 300 ncu --launch-skip 1 --launch-count 1 --kernel-name regex:hidden_cluster --set full --import-source no -o /tmp/ncu-$tag \
  $run .carry/bcl/gpt2-mlp-monarch4-b32.fly --weights random --iters 2 --warmup 1 --cuda-graph off > $OUT/ncu-$tag.log 2>&1
echo "ncu $tag exit $? at ${SECONDS}s"
ncu --import /tmp/ncu-$tag.ncu-rep --page details --csv > $OUT/ncu-$tag-details.csv 2>&1
ncu --import /tmp/ncu-$tag.ncu-rep --page source --print-source sass --csv > /tmp/ncu-$tag-src.csv 2>/dev/null
python3 tools/gpu/ncu_stalls.py /tmp/ncu-$tag-src.csv --top 30 > $OUT/ncu-$tag-stalls.txt 2>&1
head -34 $OUT/ncu-$tag-stalls.txt
grep -E '"(Duration|Compute \(SM\) Throughput|Memory Throughput|Issue Slots Busy|Registers Per Thread|Achieved Occupancy|Cluster Size|Max Active Clusters|Max Cluster Size|Cluster Scheduling Policy|Waves Per SM)"' $OUT/ncu-$tag-details.csv | cut -d, -f12- | head -20
gzip -f $OUT/ncu-$tag-details.csv

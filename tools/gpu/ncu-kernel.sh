#!/usr/bin/env bash
# On the GPU machine: Nsight Compute (--set full) on one kernel of a fly
# artifact, and the summary that the device sessions kept copying by hand:
# the key Speed-of-Light / occupancy / memory lines and the SASS stall table
# (tools/gpu/ncu_stalls.py). Writes TAG-details.csv.gz, TAG-stalls.txt and
# TAG-summary.txt into OUT_DIR and prints the summary.
#
#   tools/gpu/ncu-kernel.sh FLY_RUN ARTIFACT KERNEL_REGEX TAG OUT_DIR
#
# The kernel's second launch is profiled (the first warms caches and the
# module load), clocks locked to base as ncu does by default.
set -uo pipefail
run=${1:?usage: ncu-kernel.sh FLY_RUN ARTIFACT KERNEL_REGEX TAG OUT_DIR}
art=${2:?usage: ncu-kernel.sh FLY_RUN ARTIFACT KERNEL_REGEX TAG OUT_DIR}
regex=${3:?usage: ncu-kernel.sh FLY_RUN ARTIFACT KERNEL_REGEX TAG OUT_DIR}
tag=${4:?usage: ncu-kernel.sh FLY_RUN ARTIFACT KERNEL_REGEX TAG OUT_DIR}
out=${5:?usage: ncu-kernel.sh FLY_RUN ARTIFACT KERNEL_REGEX TAG OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
rep=/tmp/ncu-$tag
mkdir -p "$out"
timeout 300 ncu --launch-skip 1 --launch-count 1 --kernel-name "regex:$regex" \
  --set full --import-source no -o "$rep" -f \
  "$run" "$art" --weights random --iters 2 --warmup 1 --cuda-graph off \
  >"$out/$tag-ncu.log" 2>&1
rc=$?
if [ $rc -ne 0 ] || [ ! -f "$rep.ncu-rep" ]; then
  echo "ncu-kernel.sh: ncu failed for $tag (exit $rc); last lines of its log:" >&2
  tail -20 "$out/$tag-ncu.log" >&2
  exit 1
fi
ncu --import "$rep.ncu-rep" --page details --csv >"$out/$tag-details.csv" 2>&1
ncu --import "$rep.ncu-rep" --page source --print-source sass --csv \
  >"/tmp/ncu-$tag-src.csv" 2>/dev/null
python3 "$here/ncu_stalls.py" "/tmp/ncu-$tag-src.csv" --top 30 \
  >"$out/$tag-stalls.txt" 2>&1
{
  echo "== $tag: $regex in $art"
  grep -E '"(Duration|Compute \(SM\) Throughput|Memory Throughput|DRAM Throughput|L2 Cache Throughput|L1/TEX Cache Throughput|Issue Slots Busy|Registers Per Thread|Dynamic Shared Memory Per Block|Achieved Occupancy|Theoretical Occupancy|Block Limit Shared Mem|Waves Per SM|Max Active Clusters|Mem Busy|Max Bandwidth|L2 Hit Rate|Mem Pipes Busy)"' \
    "$out/$tag-details.csv" | cut -d, -f12- | sed 's/","/ | /g; s/"//g'
  head -34 "$out/$tag-stalls.txt"
} >"$out/$tag-summary.txt"
gzip -f "$out/$tag-details.csv"
cat "$out/$tag-summary.txt"

#!/usr/bin/env bash
# Ninth session: where the b32 Monarch body's wall time goes beyond its kernels' sum.
set -uo pipefail
run=$(tools/gpu/build-runtime.sh .carry/chk9p /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
for b in b32 b8; do
a=.carry/b32m/gpt2-body-monarch4-$b.fly
for mode in on off; do
  nvidia-smi --query-gpu=clocks.sm,power.draw,clocks_throttle_reasons.active --format=csv,noheader -lms 50 > $OUT/smi-$b-$mode.txt &
  smi=$!
  $run $a --weights random --iters 100 --warmup 10 --cuda-graph $mode 2>&1 | grep -E "avg|median" | tee -a $OUT/d.txt
  kill $smi
  awk -F, '{gsub(/ MHz| W/,""); if ($2+0 > 200) {n++; c+=$1; p+=$2; if ($3 !~ /0x0000000000000000/) cap++}} END {printf "graph %s: %d busy samples, mean %.0f MHz, %.0f W, capped %d\n", "'$mode'", n, c/n, p/n, cap}' $OUT/smi-$b-$mode.txt | tee -a $OUT/d.txt
done
$run $a --weights random --iters 20 --warmup 10 --profile /tmp/p-$b.json 2>&1 | grep -E "profile:|^ +[0-9.]+ +[0-9]+ .*fly_" | head -7 | tee -a $OUT/d.txt
done
echo "done at ${SECONDS}s"

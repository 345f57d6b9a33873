#!/usr/bin/env bash
# Sixth session: four variants of the Monarch kernels against the landed code (b-tma):
#   rd  = up projection's final wait_group.read 0;  rvu = up projection row tiles last to first;
#   rvd = down projection row tiles last to first; lpt = causal attention tiles longest first across groups of heads.
# checks (+ sanitizers) first, per-kernel profiles, body A/B; then the full benchmark with the winner
# (or the landed code), which also gives the first GPU run of the clock columns.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
python3 -c "import torch; print('torch', torch.__version__)" | tee -a $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/chk-rv /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
timeout 220 tools/gpu/device-check.sh .carry/chk-rv /tmp/check > $OUT/check-t.txt 2>&1; echo "check exit $? at ${SECONDS}s"
grep -E "^== |max rel|FAIL" $OUT/check-t.txt; grep -c "exit 0, =" $OUT/check-t.txt; grep "compute-sanitizer" $OUT/check-t.txt | grep -v "exit 0, ="
for v in tma rd rvu rvd; do for b in 8 32; do
  echo "== $v b$b"; $run .carry/b-$v/gpt2-mlp-monarch4-b$b.fly --weights random --iters 10 --warmup 3 --profile /tmp/p-$v-$b.json 2>&1 | grep -E "^ +[0-9.]+ +[0-9]+ .*fly_monarch" | head -2
done; done 2>&1 | tee $OUT/prof.txt
for v in tma lpt; do for b in 8 32; do
  echo "== $v body b$b"; $run .carry/b-$v/gpt2-body-monarch4-b$b.fly --weights random --iters 5 --warmup 2 --profile /tmp/pb-$v-$b.json 2>&1 | grep -E "^ +[0-9.]+ +[0-9]+ .*fly_attn" | head -1
done; done 2>&1 | tee -a $OUT/prof.txt
echo "prof done at ${SECONDS}s"
timeout 240 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b-tma --b .carry/b-rd --b .carry/b-rvu --b .carry/b-rvd --b .carry/b-lpt --match body --rounds 3 > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; cat $OUT/ab.txt
timeout 90 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b-auto --b .carry/b-lpt --match body-dense --rounds 3 > $OUT/ab-dense.txt 2>&1; echo "ab-dense exit $? at ${SECONDS}s"; cat $OUT/ab-dense.txt
python3 .carry/scripts/choose2.py $OUT | tee $OUT/choice.txt

#!/usr/bin/env bash
# Tenth session, call 1: Monarch MLP hidden kernel: checks against CPU
# references (sanitizers on the 200-row MLP), then A/B pair vs hidden
# (MLP layers and bodies) and per-kernel profiles.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/c10 /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
FLY_SANITIZE=0 timeout 120 tools/gpu/device-check.sh .carry/c10 /tmp/chk > $OUT/check.txt 2>&1; echo "check exit $? at ${SECONDS}s"
grep -hE "^== |rel|FAIL|ERROR|max" $OUT/check.txt | grep -v "fly_" | head -40
FLY_CHECK_ONLY='t200' timeout 120 tools/gpu/device-check.sh .carry/c10 /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt
timeout 240 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/bp --b .carry/bh --rounds 3 > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; tail -10 $OUT/ab.txt
for x in bp bh; do for p in mlp-monarch4-b8 mlp-monarch4-b32 body-monarch4-b32; do
  echo "== $x $p"; $run .carry/$x/gpt2-$p.fly --weights random --iters 10 --warmup 3 --profile /tmp/p-$x-$p.json 2>&1 | grep -E "^ +[0-9.]+ +[0-9]+ .*fly_" | head -8
done; done 2>&1 | tee $OUT/prof.txt | head -60
echo "prof done at ${SECONDS}s"

#!/usr/bin/env bash
# Eleventh session, call 6: the persistent factor-1 kernel of the Monarch MLP
# correctness against CPU references first
# (sanitizers on the 200-row MLP), then A/B against
# .carry/b15a (the same build, one-shot factor 1) and b15 (persistent), profiles.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
FLY_SANITIZE=0 timeout 150 tools/gpu/device-check.sh .carry/c15 /tmp/chk > $OUT/check.txt 2>&1; rc=$?; echo "check exit $rc at ${SECONDS}s"
grep -hE "^== |rel|FAIL|ERROR|max" $OUT/check.txt | grep -v "fly_" | head -40
[ $rc = 0 ] || exit 1
FLY_CHECK_ONLY='t200' timeout 150 tools/gpu/device-check.sh .carry/c15 /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer\|ERROR SUMMARY\|hazard" $OUT/check-san.txt | head
timeout 240 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/b15 --rounds 3 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; tail -10 $OUT/ab.txt
for x in b15a b15; do for p in mlp-monarch4-b8 mlp-monarch4-b32 body-monarch4-b32; do
  echo "== $x $p"; $run .carry/$x/gpt2-$p.fly --weights random --iters 10 --warmup 3 --profile /tmp/p-$x-$p.json 2>&1 | grep -E "^ +[0-9.]+ +[0-9]+ .*fly_" | head -8
done; done 2>&1 | tee $OUT/prof.txt | grep -E "==|monarch" | head -40
echo "done at ${SECONDS}s"

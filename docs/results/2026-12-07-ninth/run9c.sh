#!/usr/bin/env bash
# Ninth session: producer-warpgroup GEMMs (pwg): checks (sanitizers on tiny GPT-2), then body A/B
# against HEAD's artifacts (b-auto8).
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info-c.txt
run=$(tools/gpu/build-runtime.sh .carry/chk9p /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
FLY_CHECK_ONLY='^tiny-gpt2$' timeout 90 tools/gpu/device-check.sh .carry/chk9p /tmp/checkp > $OUT/check-pwg-san.txt 2>&1; echo "check tiny (sanitized) exit $? at ${SECONDS}s"
FLY_SANITIZE=0 FLY_CHECK_ONLY='gpt2-d256' timeout 60 tools/gpu/device-check.sh .carry/chk9p /tmp/checkp2 > $OUT/check-pwg.txt 2>&1; echo "check d256 exit $? at ${SECONDS}s"
grep -hE "^== |rel|FAIL|ERROR" $OUT/check-pwg-san.txt $OUT/check-pwg.txt | grep -v "fly_" | head -30
grep -h "compute-sanitizer" $OUT/check-pwg-san.txt
timeout 200 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b-auto8 --b .carry/b-pwg --match body --rounds 2 > $OUT/ab-pwg.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; tail -12 $OUT/ab-pwg.txt
for x in auto8 pwg; do for p in body-monarch4-b32 body-dense-b32; do
  echo "== $x $p"; $run .carry/b-$x/gpt2-$p.fly --weights random --iters 10 --warmup 3 --profile /tmp/p-$x-$p.json 2>&1 | grep -E "^ +[0-9.]+ +[0-9]+ .*fly_" | head -8
done; done 2>&1 | tee $OUT/prof-pwg.txt | head -50
echo "prof done at ${SECONDS}s"

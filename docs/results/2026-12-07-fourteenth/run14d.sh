#!/usr/bin/env bash
# Fourteenth session, written for build 14c (never ran: device time):
# 14c = 14b + each CTA of factor 1, factor 2 and the hidden kernel
# prefetching into L2 the input rows of the CTA one wave later
# (cp.async.bulk.prefetch.tensor; l2-prefetch.diff). Checks of 14c, A/B of
# 14b and 14c against HEAD's kernels (.carry/b15a), b32 profiles.
#   carry: .carry/nl .carry/b15a .carry/b14b .carry/b14c .carry/c14c
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
FLY_SANITIZE=0 timeout 120 tools/gpu/device-check.sh .carry/c14c /tmp/chk > $OUT/check.txt 2>&1; rc=$?
echo "check exit $rc at ${SECONDS}s"
grep -hE "^== |max rel" $OUT/check.txt | paste - - | cut -c1-200
[ $rc = 0 ] || { echo "not timing an incorrect build"; exit 1; }
timeout 260 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/b14b --b .carry/b14c --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b15a b14b b14c; do
  echo "== $v b32"; $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile /tmp/prof-$v.json 2>&1 | grep fly_monarch | head -3
done

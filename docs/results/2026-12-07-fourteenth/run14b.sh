#!/usr/bin/env bash
# Fourteenth session, device call: build 14a = factor 2 with one G barrier
# per group and factor 1 with both ring slots loading from the start
# (depth 0); 14b = 14a + factor 2's preloaded w2 tiles issued between the
# parts of G. Checks of 14b against the CPU references, A/B of both
# against HEAD's kernels (.carry/b15a), b32 profiles; then Nsight Compute
# on factor 1 and factor 2 (HEAD and 14b) to see where their bandwidth goes.
#   carry: .carry/nl .carry/b15a .carry/b14a .carry/b14b .carry/c14b
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
c=.carry/c14b
for f in $c/*.inputs.f16.npy; do
  python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $f ${f%.f16.npy}.npy
done
FLY_SANITIZE=0 timeout 120 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; echo "check exit $? at ${SECONDS}s"
grep -hE "^== |max rel|^OK|^FAIL" $OUT/check.txt | paste - - - | cut -c1-200
bad=$(awk '/^== /{tag=$2} /^FAIL|^fly-run: error|^fly runtime/{print tag}' $OUT/check.txt | sort -u)
echo "failed: ${bad:-none}"
[ -z "$bad" ] && grep -q "^OK" $OUT/check.txt || { echo "not timing an incorrect build"; exit 1; }
timeout 260 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/b14a --b .carry/b14b --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b15a b14a b14b; do
  echo "== $v"; $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile /tmp/prof-$v.json 2>&1 | grep fly_monarch | head -3
done
for k in f1 f2; do
  timeout 100 tools/gpu/ncu-kernel.sh $run .carry/b15a/gpt2-mlp-monarch4-b32.fly "split_$k\$" head-$k $OUT/ncu | head -40
  echo "ncu head $k done at ${SECONDS}s"
done
timeout 100 tools/gpu/ncu-kernel.sh $run .carry/b14b/gpt2-mlp-monarch4-b32.fly "split_f2\$" 14b-f2 $OUT/ncu | head -40
echo "ncu 14b f2 done at ${SECONDS}s"
FLY_CHECK_ONLY='1x200' timeout 90 tools/gpu/device-check.sh $c /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer\|ERROR SUMMARY\|hazard" $OUT/check-san.txt | head -8

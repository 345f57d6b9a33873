#!/usr/bin/env bash
# Thirteenth session, device call: the cluster-epilogue Monarch MLP
# (--monarch-mlp=cluster) -- correctness first (CPU references made on the
# CPU machine, make13.sh), sanitizers, then the A/B against HEAD's kernels
# and b32 profiles; the full benchmark if it is faster.
#   carry: .carry/nl .carry/ccl .carry/b15a .carry/bcl .carry/b10
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
c=.carry/ccl
for f in $c/*.inputs.f16.npy; do
  python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $f ${f%.f16.npy}.npy
done
FLY_SANITIZE=0 timeout 240 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; echo "check exit $? at ${SECONDS}s"
grep -hE "^== |max rel|^OK|^FAIL" $OUT/check.txt | paste - - - | cut -c1-200
bad=$(awk '/^== /{tag=$2} /^FAIL|^fly-run: error|^fly runtime/{print tag}' $OUT/check.txt | sort -u)
echo "failed: ${bad:-none}"
FLY_CHECK_ONLY='1x200|2x128' timeout 120 tools/gpu/device-check.sh $c /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt | head -12
[ -z "$bad" ] && grep -q "^OK" $OUT/check.txt || { echo "not timing an incorrect build"; exit 1; }
timeout 200 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/bcl --rounds 3 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b15a bcl; do
  echo "== $v"; $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile /tmp/prof-$v.json 2>&1 | grep fly_monarch | head -3
done

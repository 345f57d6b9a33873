#!/usr/bin/env bash
# Fourteenth session, device call: build 14c = 14b + each CTA of factor 1,
# factor 2 and the hidden kernel prefetching into L2 the input rows of the
# CTA one wave later (cp.async.bulk.prefetch.tensor). Checks of 14c, A/B of
# 14b and 14c against HEAD's kernels (.carry/b15a), b32 profiles; then
# the full benchmark (fly + PyTorch peer, same run) with the dense
# artifacts of .carry/b10 and the Monarch ones of the faster new build.
#   carry: .carry/nl .carry/b10 .carry/b15a .carry/b14b .carry/b14c .carry/c14c
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
c=.carry/c14c
for f in $c/*.inputs.f16.npy; do
  python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $f ${f%.f16.npy}.npy
done
FLY_SANITIZE=0 timeout 120 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; echo "check exit $? at ${SECONDS}s"
grep -hE "^== |max rel|^OK|^FAIL" $OUT/check.txt | paste - - - | cut -c1-200
bad=$(awk '/^== /{tag=$2} /^FAIL|^fly-run: error|^fly runtime/{print tag}' $OUT/check.txt | sort -u)
echo "failed: ${bad:-none}"
[ -z "$bad" ] && grep -q "^OK" $OUT/check.txt || { echo "not timing an incorrect build"; exit 1; }
timeout 260 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/b14b --b .carry/b14c --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b15a b14b b14c; do
  echo "== $v b32"; $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile /tmp/prof-$v.json 2>&1 | grep fly_monarch | head -3
done
win=$(awk '/^geometric mean/{for(i=1;i<=NF;i++){if($i=="B1")b1=$(i+1); if($i=="B2")b2=$(i+1)}} END{gsub(",","",b1); gsub(",","",b2); if (b1+0<1 && b1+0<=b2+0) print "b14b"; else if (b2+0<1) print "b14c"}' $OUT/ab.txt)
[ -n "$win" ] || { echo "no new build faster than HEAD: no full benchmark"; exit 0; }
echo "full benchmark: dense .carry/b10, Monarch .carry/$win"
mkdir -p /tmp/bf && cp -r .carry/b10/*dense* .carry/$win/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 2 --csv $OUT/bench.csv --out-dir /tmp/bench > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

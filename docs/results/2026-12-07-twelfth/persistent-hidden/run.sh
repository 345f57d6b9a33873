#!/usr/bin/env bash
# Device: bash run.sh CHECK_DIR A_BENCH B_BENCH DENSE_BENCH PEER_SCRIPT
# (make.sh's outputs; DENSE_BENCH: dense artifacts for the full benchmark,
# e.g. .carry/b10; PEER_SCRIPT: ../shared/peers/torch_peer_bench.py, carried,
# e.g. in .carry/nl/peer/). Correctness first (CPU references, sanitizers),
# then the A/B and, if B is faster, the full benchmark with it.
set -uo pipefail
c=${1:?}; a=${2:?}; b=${3:?}; dense=${4:?}; peer=${5:?}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh $c /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
for f in $c/*.inputs.f16.npy; do
  python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $f ${f%.f16.npy}.npy
done
FLY_SANITIZE=0 timeout 200 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; rc=$?; echo "check exit $rc at ${SECONDS}s"
grep -hE "^== |max rel|^OK|^FAIL" $OUT/check.txt | cut -c1-150
[ $rc = 0 ] || exit 1
FLY_CHECK_ONLY='1x200|2x128' timeout 150 tools/gpu/device-check.sh $c /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt | head
timeout 200 python3 tools/bench/gpu_ab.py --fly-run $run --a $a --b $b --rounds 3 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; grep -E "^\|" $OUT/ab.txt
for v in $a $b; do
  $run $v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile $OUT/prof.json 2>&1 | grep fly_monarch | head -3
done
mkdir -p /tmp/bf && rm -rf /tmp/bf/* && cp -r $dense/*dense* $b/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer $peer --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

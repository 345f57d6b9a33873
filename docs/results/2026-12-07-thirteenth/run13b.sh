#!/usr/bin/env bash
# Thirteenth session, device call 2: the full benchmark (fly and PyTorch in
# one run) with the cluster-epilogue MLP artifacts (.carry/bcl) and the
# dense ones (.carry/b10), after a correctness re-check of the cluster
# build on the GPT-2-small MLP (200 rows) and the d256 body.
#   carry: .carry/nl .carry/ccl .carry/bcl .carry/b10
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
c=.carry/ccl
for f in $c/*.inputs.f16.npy; do
  python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $f ${f%.f16.npy}.npy
done
FLY_SANITIZE=0 FLY_CHECK_ONLY='1x200|2x128' timeout 150 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; echo "check exit $? at ${SECONDS}s"
grep -hE "^== |max rel|^OK|^FAIL" $OUT/check.txt | paste - - - | cut -c1-200
grep -q "^FAIL" $OUT/check.txt && exit 1
mkdir -p /tmp/bf && cp -r .carry/b10/*dense* .carry/bcl/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

#!/usr/bin/env bash
# Tenth session, last call: the hidden-layer-on-chip MLP as the default.
# Correctness first (the make-check-artifacts set compiled at this commit,
# sanitizers on the tiny GPT-2 and the 200-row Monarch MLP), then the full
# benchmark (fly + PyTorch peer, same run) on artifacts of this commit.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/chk10 /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
python3 tools/gpu/scatterbrain_checks.py inputs .carry/chk10 > $OUT/sb-inputs.txt 2>&1
FLY_SANITIZE=0 timeout 200 tools/gpu/device-check.sh .carry/chk10 /tmp/chk > $OUT/check-all.txt 2>&1; echo "check exit $? at ${SECONDS}s"
grep -hE "^== |max rel|FAIL" $OUT/check-all.txt | paste - - | sed 's/ *max rel error: */ /' | cut -c1-150
FLY_CHECK_ONLY='^tiny-gpt2$|gpt2s-mlp' timeout 150 tools/gpu/device-check.sh .carry/chk10 /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts .carry/b10 --peer .carry/scripts/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^| part" $OUT/bench.txt | head -18

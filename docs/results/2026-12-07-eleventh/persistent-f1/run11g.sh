#!/usr/bin/env bash
# Eleventh session, call 6 (device time short, so one call): the persistent
# factor-1 kernel of the Monarch MLP. Correctness first (.carry/c15 against
# CPU references, sanitizers on the 200-row MLP), then A/B against the same
# build with the one-shot factor 1 (.carry/b15a vs .carry/b15), then the full
# benchmark (fly + PyTorch peer, same run) on .carry/bfinal: the Monarch
# artifacts of this build and the dense ones of .carry/b10 (dense code
# unchanged since ed79f76).
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
FLY_SANITIZE=0 timeout 150 tools/gpu/device-check.sh .carry/c15 /tmp/chk > $OUT/check.txt 2>&1; rc=$?; echo "check exit $rc at ${SECONDS}s"
grep -hE "^== |max rel|FAIL" $OUT/check.txt | paste - - | sed 's/ *max rel error: */ /' | cut -c1-150
[ $rc = 0 ] || exit 1
FLY_CHECK_ONLY='t200' timeout 150 tools/gpu/device-check.sh .carry/c15 /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt | head
timeout 200 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/b15 --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; tail -9 $OUT/ab.txt
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts .carry/bfinal --peer .carry/scripts/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

#!/usr/bin/env bash
# Twelfth session, call 1: the persistent factor-1 kernel of the Monarch MLP.
# Correctness first (.carry/c15 against
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
timeout 200 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/b15 --rounds 3 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; tail -9 $OUT/ab.txt
# Per-kernel times of the b32 MLP layer, one-shot vs persistent factor 1.
for v in b15a b15; do
  $run .carry/$v/gpt2-mlp-monarch4-b32.fly --iters 20 --warmup 3 --profile $OUT/prof-$v.json > $OUT/prof-$v.txt 2>&1
  echo "== $v"; tail -6 $OUT/prof-$v.txt
done
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts .carry/bfinal --peer .carry/scripts/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

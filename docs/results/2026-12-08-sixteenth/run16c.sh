#!/usr/bin/env bash
# Sixteenth session, final: build 16f = HEAD's kernels (producer hidden
# kernel, persistent factor 2 with a ring of 10; make16c.sh 16f producer).
# Checks against the CPU references first (make16c.sh's set: persistent
# CTAs with several row tiles), A/B against the session's starting HEAD
# (.carry/b14b), b32 profiles, then the full benchmark (dense artifacts of
# .carry/b10, Monarch of .carry/b16f, PyTorch eager in the same command),
# sanitizers last. Run as
#   bash docs/results/2026-12-08-sixteenth/run16c.sh 2>&1 | tail -90
#   carry: .carry/nl .carry/b10 .carry/b14b .carry/b16f .carry/c16f
# LIMIT: the call's seconds (later steps are skipped or cut to fit it).
set -uo pipefail
limit=${LIMIT:-560}
trap 'tar czf /tmp/run16c.tgz -C $OUT . && rm -rf $OUT/* && mv /tmp/run16c.tgz $OUT/' EXIT
export LD_LIBRARY_PATH=$PWD/.carry/c16f/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
date -u +%H:%M:%S | tee -a $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
# The wgmma rates behind the hidden kernel's next step (design notes: "S
# transposed, N = 128"), ~10 s.
timeout 60 tools/gpu/wgmma-rate/run.sh > $OUT/wgmma-rate.txt 2>&1; echo "wgmma-rate exit $? at ${SECONDS}s"
cat $OUT/wgmma-rate.txt | tail -12
FLY_SANITIZE=0 timeout 150 tools/gpu/device-check.sh .carry/c16f /tmp/chk16f > $OUT/check16f.txt 2>&1; rc=$?
echo "check 16f exit $rc at ${SECONDS}s"
grep -hE "^== |max rel" $OUT/check16f.txt | paste - - | cut -c1-200
[ $rc = 0 ] || { echo "checks failed: not timing"; exit 1; }
timeout 120 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b14b --b .carry/b16f --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b14b b16f; do
  echo "== $v b32"; timeout 30 $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile /tmp/prof-$v.json 2>&1 | grep fly_monarch | head -3
done
mkdir -p /tmp/bf && cp -r .carry/b10/*dense* .carry/b16f/* /tmp/bf/
timeout $((limit - 20 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 2 --csv $OUT/bench.csv --out-dir /tmp/bench > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16
if [ $SECONDS -lt $((limit - 40)) ]; then
  FLY_CHECK_ONLY='2x128' timeout $((limit - 10 - SECONDS)) tools/gpu/device-check.sh .carry/c16f /tmp/san16f > $OUT/sanitize.txt 2>&1; echo "sanitize exit $? at ${SECONDS}s"
  grep -hE "ERROR SUMMARY|RACECHECK SUMMARY|hazard|FAIL" $OUT/sanitize.txt | sort | uniq -c | head
fi
# Nsight Compute of the producer hidden kernel and persistent factor 2 at
# b32 with the time that is left (where the next session should look).
if [ $SECONDS -lt $((limit - 150)) ]; then
  timeout $((limit - 10 - SECONDS)) tools/gpu/ncu-kernel.sh $run .carry/b16f/gpt2-mlp-monarch4-b32.fly '_hidden_ws' ncu-hidden $OUT/ncu > /dev/null 2>&1; echo "ncu exit $? at ${SECONDS}s"
  head -40 $OUT/ncu/ncu-hidden-summary.txt 2>/dev/null
fi

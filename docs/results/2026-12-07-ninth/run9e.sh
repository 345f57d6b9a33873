#!/usr/bin/env bash
# Ninth session, repeat: the full benchmark again (ARTS), then the producer-warpgroup A/B with 3 rounds.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info-e.txt
run=$(tools/gpu/build-runtime.sh .carry/chk9p /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
timeout 300 python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts ${ARTS:?} --peer .carry/scripts/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
cat $OUT/bench.csv
timeout $((580 - SECONDS)) python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b-auto8 --b .carry/b-pwg --match body --rounds 3 > $OUT/ab-pwg3.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; tail -9 $OUT/ab-pwg3.txt

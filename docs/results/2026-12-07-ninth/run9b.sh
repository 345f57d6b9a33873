#!/usr/bin/env bash
# Ninth session, call 2: the full benchmark (fly + PyTorch peer, same run) on ARTS.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info-bench.txt
run=$(tools/gpu/build-runtime.sh .carry/chk9p /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts ${ARTS:?} --peer .carry/scripts/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A30 "^| part" $OUT/bench.txt | head -20

#!/usr/bin/env bash
# Fourteenth session, written for build 14c (never ran: device time):
# run14d.sh (checks, A/B of 14b and 14c against HEAD's kernels, profiles),
# then the full benchmark (fly + PyTorch peer, same run) with the dense
# artifacts of .carry/b10 and the Monarch ones of the faster new build.
#   carry: .carry/nl .carry/b10 .carry/b15a .carry/b14b .carry/b14c .carry/c14c
set -uo pipefail
here=docs/results/2026-12-07-fourteenth
bash $here/run14d.sh || exit 1
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || exit 1
win=$(awk '/^geometric mean/{for(i=1;i<=NF;i++){if($i=="B1")b1=$(i+1); if($i=="B2")b2=$(i+1)}} END{gsub(",","",b1); gsub(",","",b2); if (b1+0<1 && b1+0<=b2+0) print "b14b"; else if (b2+0<1) print "b14c"}' $OUT/ab.txt)
[ -n "$win" ] || { echo "no new build faster than HEAD: no full benchmark"; exit 0; }
echo "full benchmark: dense .carry/b10, Monarch .carry/$win"
mkdir -p /tmp/bf && cp -r .carry/b10/*dense* .carry/$win/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 2 --csv $OUT/bench.csv --out-dir /tmp/bench > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

#!/usr/bin/env bash
# Twelfth session, call 6: b20 (make12d.sh: b17 with one G buffer and a
# three-slot ring). Correctness first (.carry/c20 against the CPU
# references; sanitizers on the 200-row MLP), then the A/B against b15a
# (HEAD) and b16 (persistent factor 1), 2 rounds (device time short), the b32
# profile, and the full benchmark if b20 is the fastest.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
c=.carry/c20
python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $c/gpt2s-mlp-6x1017.inputs.f16.npy $c/gpt2s-mlp-6x1017.inputs.npy
FLY_SANITIZE=0 timeout 200 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; rc=$?; echo "check exit $rc at ${SECONDS}s"
grep -hE "^== |max rel|^OK|^FAIL" $OUT/check.txt | cut -c1-150
[ $rc = 0 ] || exit 1
FLY_CHECK_ONLY='1x200' timeout 150 tools/gpu/device-check.sh $c /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt | head
timeout 200 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/b16 --b .carry/b20 --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; grep -E "^\|" $OUT/ab.txt
$run .carry/b20/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile $OUT/prof-b20.json > $OUT/prof-b20.txt 2>&1
grep -E "fly_monarch" $OUT/prof-b20.txt | cut -c1-150 | head -3
win=$(python3 - $OUT/ab.txt b15a b16 b20 <<'PY'
import math, sys
names = sys.argv[2:]
score = [0.0] * len(names)
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.split("|")]
    if len(cells) < 3 + len(names) or not cells[1].startswith("gpt2-"):
        continue
    try:
        t = [float(x) for x in cells[2:2 + len(names)]]
    except ValueError:
        continue
    for i in range(len(names)):
        score[i] += math.log(t[i] / t[0])
print(names[min(range(len(names)), key=lambda i: score[i])])
PY
)
echo "fastest: $win"
[ "$win" = b20 ] || exit 0
mkdir -p /tmp/bf && rm -rf /tmp/bf/* && cp -r .carry/b10/*dense* .carry/b20/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

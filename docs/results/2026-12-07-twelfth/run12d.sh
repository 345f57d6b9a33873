#!/usr/bin/env bash
# Twelfth session, call 3: call 2's checks all passed (its pass/fail parse
# counted "max rel error" lines as failures, and its bf16 "-gregs" tag got
# f16's bound), so: the A/B of all five builds, b32 profiles, and the full
# benchmark with the fastest.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
names=(b15a b16 b17 b18 b19)
timeout 300 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b15a --b .carry/b16 --b .carry/b17 --b .carry/b18 --b .carry/b19 --rounds 3 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; grep -E "^\||^A|^B" $OUT/ab.txt
win=$(python3 - $OUT/ab.txt "${names[@]}" <<'PY'
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
for v in ${names[@]}; do
  $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile $OUT/prof-$v.json > $OUT/prof-$v.txt 2>&1
  echo "== $v"; grep -E "fly_monarch" $OUT/prof-$v.txt | cut -c1-150 | head -3
done
echo "full benchmark: dense .carry/b10, Monarch .carry/$win"
mkdir -p /tmp/bf && rm -rf /tmp/bf/* && cp -r .carry/b10/*dense* .carry/$win/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

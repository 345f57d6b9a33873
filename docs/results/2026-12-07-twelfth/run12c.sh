#!/usr/bin/env bash
# Twelfth session, call 2 (replaces run12b.sh, which never got a machine).
# Builds: b15a = HEAD 635183a (one-shot factor 1); b16 = persistent factor 1
# with its preload fixed; b17 = b16 + the hidden kernel's S with G in
# registers; b18 = b17 + H in registers (acc += H . w1 as register-A
# wgmmas, no H tile); b19 = b16 + H in registers only. Correctness first
# (.carry/c16, tags: "" = b16 on the MLP at 200 and 6 x 1017 rows -- some
# persistent CTAs then take two items, which call 1 never checked --
# gregs = b17, hregs = b18, honly = b19, each on the d256 body, the MLP at
# 200 and 6 x 1017 rows and the tiny ViT), sanitizers on the 200-row MLP,
# one A/B of all builds that passed, per-kernel profiles at b32, and the
# full benchmark (fly + PyTorch peer, same run) on the dense artifacts of
# .carry/b10 and the Monarch ones of the fastest build that passed.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
c=.carry/c16
python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $c/gpt2s-mlp-6x1017.inputs.f16.npy $c/gpt2s-mlp-6x1017.inputs.npy
# Weights left out of the carry: the -gregs artifact's of the same model.
for d in $c/*.fly; do
  [ -f $d/weights.safetensors ] && continue
  src=$(echo $d | sed -E 's/(-hregs|-honly)?\.fly$/-gregs.fly/')
  cp $src/weights.safetensors $d/ || echo "no weights for $d"
done
FLY_SANITIZE=0 timeout 200 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; rc=$?; echo "check exit $rc at ${SECONDS}s"
grep -hE "^== |max rel" $OUT/check.txt | paste - - | sed 's/ *max rel error: */ /' | cut -c1-150
bad=$(awk '/^== /{tag=$2} /FAIL|error/{if (tag != "") print tag}' $OUT/check.txt | sort -u)
echo "failed tags: ${bad:-none}"
ok() { ! echo "$bad" | grep -qE -e "$1"; }
sides=(--a .carry/b15a); names=(b15a)
ok '^gpt2s-mlp-[0-9x]+\.cuda-f16$' && { sides+=(--b .carry/b16); names+=(b16); }
ok '-gregs$' && { sides+=(--b .carry/b17); names+=(b17); }
ok '-hregs$' && { sides+=(--b .carry/b18); names+=(b18); }
ok '-honly$' && { sides+=(--b .carry/b19); names+=(b19); }
echo "passed: ${names[*]}"
FLY_CHECK_ONLY='1x200' timeout 150 tools/gpu/device-check.sh $c /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt | head -12
win=b15a
if [ ${#names[@]} -gt 1 ]; then
  timeout 260 python3 tools/bench/gpu_ab.py --fly-run $run "${sides[@]}" --rounds 3 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; grep -E "^\||^A|^B" $OUT/ab.txt
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
fi
for v in ${names[@]}; do
  $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile $OUT/prof-$v.json > $OUT/prof-$v.txt 2>&1
  echo "== $v"; grep -E "fly_monarch" $OUT/prof-$v.txt | cut -c1-150 | head -4
done
echo "full benchmark: dense .carry/b10, Monarch .carry/$win"
mkdir -p /tmp/bf && cp -r .carry/b10/*dense* .carry/$win/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

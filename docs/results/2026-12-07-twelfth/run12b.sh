#!/usr/bin/env bash
# Twelfth session, call 2. Builds: b15a = HEAD 635183a (one-shot factor 1),
# b16 = persistent factor 1 with the preload fixed, b17 = b16 + the hidden
# kernel's S with G in registers. Correctness first (.carry/c16: the
# persistent factor 1 alone on the MLP at 200 and 6 x 1017 rows -- the
# latter gives some CTAs two items, which call 1's check set never did --
# and b17's code on everything), sanitizers on the 200-row MLP of both, then
# one A/B of the three, per-kernel profiles at b32, and the full benchmark
# (fly + PyTorch peer, same run) on the dense artifacts of .carry/b10 and
# the Monarch ones of the newest build whose checks passed.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
c=.carry/c16
python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $c/gpt2s-mlp-6x1017.inputs.f16.npy $c/gpt2s-mlp-6x1017.inputs.npy
FLY_SANITIZE=0 timeout 200 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; rc=$?; echo "check exit $rc at ${SECONDS}s"
grep -hE "^== |max rel|FAIL|rel " $OUT/check.txt | cut -c1-160
# A tag fails if its compare (or its run) printed FAIL / error.
bad=$(awk '/^== /{tag=$2} /FAIL|error/{if (tag != "") print tag}' $OUT/check.txt | sort -u)
echo "failed tags: ${bad:-none}"
pf1_ok=1; gregs_ok=1
echo "$bad" | grep -q -- '-gregs' && gregs_ok=0
echo "$bad" | grep -v -- '-gregs' | grep -q . && pf1_ok=0
echo "pf1_ok=$pf1_ok gregs_ok=$gregs_ok"
FLY_CHECK_ONLY='1x200' timeout 150 tools/gpu/device-check.sh $c /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt | head
sides=(--a .carry/b15a)
[ $pf1_ok = 1 ] && sides+=(--b .carry/b16)
[ $gregs_ok = 1 ] && sides+=(--b .carry/b17)
if [ ${#sides[@]} -gt 2 ]; then
  timeout 240 python3 tools/bench/gpu_ab.py --fly-run $run "${sides[@]}" --rounds 3 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; grep -E "^\||^A|^B" $OUT/ab.txt
fi
for v in b15a b16 b17; do
  $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile $OUT/prof-$v.json > $OUT/prof-$v.txt 2>&1
  echo "== $v"; grep -E "fly_monarch|total|avg" $OUT/prof-$v.txt | cut -c1-150 | head -8
done
win=b15a; [ $pf1_ok = 1 ] && win=b16; [ $gregs_ok = 1 ] && win=b17
echo "full benchmark: dense .carry/b10, Monarch .carry/$win"
mkdir -p /tmp/bf && cp -r .carry/b10/*dense* .carry/$win/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/scripts/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

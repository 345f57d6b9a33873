#!/usr/bin/env bash
# For the next session's first device call (made ready in the twelfth):
# both unrun hidden-kernel variants in one call, against HEAD's kernels.
#   A = .carry/b15a  HEAD 635183a (= the landed kernels)
#   B1 = .carry/bph  persistent hidden kernel (persistent-hidden/)
#   B2 = .carry/b20  one G buffer + three ring slots + G in registers and
#                    the persistent factor 1 (one-g-buffer.diff)
# .carry/cnext: the checks -- tag "" = B1's build, "-g1" = B2's (weights
# identical to B1's artifact of the same name and dtype, restored here):
# d256 Monarch body at 2 x 128 and (B1) 34 x 127 rows, GPT-2-small MLP at
# 200 and 6 x 1017 rows, tiny ViT, against CPU references made on the CPU
# machine (f16 inputs converted here). Correctness first; then sanitizers,
# the A/B, b32 profiles, and the full benchmark with the fastest side.
#   carry: .carry/nl .carry/cnext .carry/b15a .carry/bph .carry/b20 .carry/b10
set -uo pipefail
for d in .carry/nl .carry/cnext .carry/b15a .carry/bph .carry/b20 .carry/b10; do
  [ -d $d ] || { echo "run-next.sh: $d missing (rebuild it: README.md here)"; exit 1; }
done
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
c=.carry/cnext
for d in $c/*-g1.fly; do
  [ -f $d/weights.safetensors ] || cp ${d%-g1.fly}.fly/weights.safetensors $d/
done
for f in $c/*.inputs.f16.npy; do
  python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1]).astype(np.float32))" $f ${f%.f16.npy}.npy
done
FLY_SANITIZE=0 timeout 200 tools/gpu/device-check.sh $c /tmp/chk > $OUT/check.txt 2>&1; echo "check exit $? at ${SECONDS}s"
grep -hE "^== |max rel|^OK|^FAIL" $OUT/check.txt | paste - - - | cut -c1-200
bad=$(awk '/^== /{tag=$2} /^FAIL|^fly-run: error|^fly runtime/{print tag}' $OUT/check.txt | sort -u)
echo "failed: ${bad:-none}"
sides=(--a .carry/b15a)
echo "$bad" | grep -qE -e '\.cuda-[a-z0-9]+$' || sides+=(--b .carry/bph)
echo "$bad" | grep -qE -e '-g1$' || sides+=(--b .carry/b20)
FLY_CHECK_ONLY='1x200|2x128' timeout 150 tools/gpu/device-check.sh $c /tmp/chks > $OUT/check-san.txt 2>&1; echo "check-san exit $? at ${SECONDS}s"
grep -h "compute-sanitizer" $OUT/check-san.txt | head -12
[ ${#sides[@]} -gt 2 ] || exit 1
timeout 240 python3 tools/bench/gpu_ab.py --fly-run $run "${sides[@]}" --rounds 3 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b15a bph b20; do
  echo "== $v"; $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile /tmp/prof-$v.json 2>&1 | grep fly_monarch | head -3
done
win=$(sed -n 's/^fastest: [A-Z0-9]* = //p' $OUT/ab.txt)
case "$win" in ""|.carry/b15a) echo "no faster side: no full benchmark"; exit 0 ;; esac
echo "full benchmark: dense .carry/b10, Monarch $win"
mkdir -p /tmp/bf && rm -rf /tmp/bf/* && cp -r .carry/b10/*dense* $win/* /tmp/bf/
timeout $((590 - SECONDS)) python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16

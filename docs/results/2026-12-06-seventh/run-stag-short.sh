#!/usr/bin/env bash
# Seventh session: staggered orders vs HEAD (base): sb = Monarch block/chunk order rotated per row tile,
# sbk = also k-tiles, sg = GEMM k-tiles rotated per tile, sbsg = sb + sg.
# Short form (device budget): checks first, body A/B, per-kernel profiles at b32; no full benchmark.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
python3 -c "import torch; print('torch', torch.__version__)" | tee -a $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/chk-sg /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
timeout 100 tools/gpu/device-check.sh .carry/chk-sg /tmp/check > $OUT/check-sg.txt 2>&1; echo "check-sg exit $? at ${SECONDS}s"
FLY_SANITIZE=0 timeout 40 tools/gpu/device-check.sh .carry/chk-big /tmp/checkb > $OUT/check-big.txt 2>&1; echo "check-big exit $? at ${SECONDS}s"
grep -hE "^== |max|FAIL|OK" $OUT/check-sg.txt $OUT/check-big.txt | grep -v "fly_" | head -40
grep -h "compute-sanitizer" $OUT/check-sg.txt
timeout 170 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b-base --b .carry/b-sb --b .carry/b-sbk --b .carry/b-sg --b .carry/b-sbsg --match body-monarch --rounds 3 > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; cat $OUT/ab.txt
python3 .carry/scripts/choose3.py $OUT | tee $OUT/choice.txt
v=$(cat /tmp/ab-choice)
for x in base sb sbk sg sbsg; do for b in 32; do
  echo "== $x mlp b$b"; $run .carry/b-$x/gpt2-mlp-monarch4-b$b.fly --weights random --iters 10 --warmup 3 --profile /tmp/p-$x-$b.json 2>&1 | grep -E "^ +[0-9.]+ +[0-9]+ .*fly_monarch" | head -2
done; done 2>&1 | tee $OUT/prof.txt
echo "prof done at ${SECONDS}s"

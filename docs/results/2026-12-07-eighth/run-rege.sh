#!/usr/bin/env bash
# Eighth session: warp-specialised GEMM register epilogue (rege) vs HEAD~2 (base).
# Order: correctness first (model checks, GEMM self-test with cuBLAS and the staging
# epilogue in the same run), then the body A/B, b32 profiles, then the full benchmark.
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
python3 -c "import torch; print('torch', torch.__version__)" | tee -a $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/chk-rege /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
FLY_CHECK_ONLY='^tiny-gpt2$' timeout 50 tools/gpu/device-check.sh .carry/chk-rege /tmp/check > $OUT/check.txt 2>&1; echo "check (sanitized) exit $? at ${SECONDS}s"
FLY_SANITIZE=0 FLY_CHECK_ONLY='gpt2-d256' timeout 45 tools/gpu/device-check.sh .carry/chk-rege /tmp/check2 > $OUT/check2.txt 2>&1; echo "check2 exit $? at ${SECONDS}s"
grep -hE "^== |max|FAIL|OK" $OUT/check.txt $OUT/check2.txt | grep -v "fly_" | head -40
grep -h "compute-sanitizer" $OUT/check.txt
#timeout 45 tools/gpu/gemm-selftest/run-there.sh .carry/gs-rege -- --samples=10 > $OUT/selftest.txt 2>&1; echo "selftest exit $? at ${SECONDS}s"
#tail -25 $OUT/selftest.txt
timeout 80 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b-base --b .carry/b-rege --match body-monarch --rounds 2 > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; cat $OUT/ab.txt | tail -15
for x in base rege; do for p in body-monarch4-b32; do
  echo "== $x $p"; $run .carry/b-$x/gpt2-$p.fly --weights random --iters 10 --warmup 3 --profile /tmp/p-$x-$p.json 2>&1 | grep -E "^ +[0-9.]+ +[0-9]+ .*fly_gemm" | head -6
done; done 2>&1 | tee $OUT/prof.txt
echo "prof done at ${SECONDS}s"
left=$((585 - SECONDS)); echo "full benchmark, ${left}s left"
if [ "${FULL:-1}" = 1 ] && [ $left -gt 200 ]; then
timeout $left python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts .carry/b-rege --peer .carry/scripts/torch_peer_bench.py --repeats 3 --csv $OUT/bench.csv --out-dir /tmp/bench --profile /tmp/prof > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A30 "^| part" $OUT/bench.txt | head -20
fi

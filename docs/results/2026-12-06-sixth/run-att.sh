#!/usr/bin/env bash
# Sixth session, run 3: the attention self-test of the landed head-grouped longest-first order
# (and of a 32 MB group budget) against float64 and SDPA; body A/B of group budgets 8/32 MB and of
# the Monarch row-order variants on top of it (landed = b-lpt, byte-identical to HEAD's artifacts).
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/attn-st /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
SANITIZE=bh8_t100 timeout 150 tools/gpu/attention-selftest/run-there.sh .carry/attn-st > $OUT/attn-st.txt 2>&1; echo "attn-st exit $? at ${SECONDS}s"
NO_SDPA=1 timeout 60 tools/gpu/attention-selftest/run-there.sh .carry/attn-st/g32 > $OUT/attn-st-g32.txt 2>&1; echo "attn-st-g32 exit $? at ${SECONDS}s"
tail -30 $OUT/attn-st.txt; grep -E "fly_attn" $OUT/attn-st-g32.txt | head -12
timeout 150 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b-lpt --b .carry/b-g8 --b .carry/b-g32 --match body-monarch --rounds 3 > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"; cat $OUT/ab.txt
timeout 100 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b-lpt --b .carry/b-g8 --b .carry/b-g32 --match body-dense --rounds 3 > $OUT/ab-dense.txt 2>&1; echo "ab-dense exit $? at ${SECONDS}s"; cat $OUT/ab-dense.txt
for v in lpt g8 g32; do for b in 8 32; do
  echo "== $v body b$b"; $run .carry/b-$v/gpt2-body-monarch4-b$b.fly --weights random --iters 5 --warmup 2 --profile /tmp/pb-$v-$b.json 2>&1 | grep -E "^ +[0-9.]+ +[0-9]+ .*fly_attn" | head -1
done; done 2>&1 | tee $OUT/prof.txt

#!/usr/bin/env bash
# Fifteenth session: the warp-specialised hidden kernel (producer warpgroup,
# empty barriers, no per-step CTA barrier) as 15p, and 15p + ping-pong
# consumers as 15q. Checks of both (correctness before timing), A/B against
# HEAD's kernels (.carry/b14b), b32 profiles, the full benchmark with the
# faster build if one beats HEAD by 1% (only if .carry/b10 is carried),
# Nsight Compute of its hidden kernel, sanitizers on the d256 body.
# Artifacts: make15.sh 15p producer; make15.sh 15q pingpong. Run as
#   bash docs/results/2026-12-07-fifteenth/run15a.sh 2>&1 | tail -90
# (the files come back as one tarball, run15a.tgz).
#   carry: .carry/nl .carry/b14b .carry/b15p .carry/b15q .carry/c15 [.carry/b10]
# (c15 without 15q's bf16 check and both builds' 1x200 MLP check: 64 MiB)
set -uo pipefail
# A call returns at most 8 files: everything leaves as one tarball.
trap 'tar czf /tmp/run15a.tgz -C $OUT . && rm -rf $OUT/* && mv /tmp/run15a.tgz $OUT/' EXIT
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
# Each build checked on its own (a hang or failure of one leaves the other).
ab=()
for v in 15p 15q; do
  c=/tmp/c$v; mkdir -p $c
  ln -sf $PWD/.carry/c15/*.npy $PWD/.carry/c15/nlohmann $PWD/.carry/c15/*-$v.fly $c/
  FLY_SANITIZE=0 timeout 60 tools/gpu/device-check.sh $c /tmp/chk$v > $OUT/check$v.txt 2>&1; rc=$?
  echo "check $v exit $rc at ${SECONDS}s"
  grep -hE "^== |max rel" $OUT/check$v.txt | paste - - | cut -c1-200
  [ $rc = 0 ] && ab+=(--b .carry/b$v)
done
[ ${#ab[@]} -gt 0 ] || { echo "no build passed its checks: not timing"; exit 1; }
timeout 150 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b14b "${ab[@]}" --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b14b b15p b15q; do
  echo "== $v b32"; timeout 30 $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile /tmp/prof-$v.json 2>&1 | grep fly_monarch | head -3
done
win=$(awk '/^geometric mean/{for(i=1;i<=NF;i++){if($i=="B1")b1=$(i+1); if($i=="B2")b2=$(i+1)}} END{gsub(",","",b1); gsub(",","",b2); if (b1+0<0.99 && (b2=="" || b1+0<=b2+0)) print 1; else if (b2!="" && b2+0<0.99) print 2}' $OUT/ab.txt)
[ -n "$win" ] && win=$(echo "${ab[@]}" | tr ' ' '\n' | grep carry | sed -n ${win}p | sed 's|.carry/||')
if [ -z "$win" ] || [ ! -d .carry/b10 ]; then
  echo "no full benchmark (winner: '$win'; dense artifacts carried: $([ -d .carry/b10 ] && echo yes || echo no))"
else
echo "full benchmark: dense .carry/b10, Monarch .carry/$win"
mkdir -p /tmp/bf && cp -r .carry/b10/*dense* .carry/$win/* /tmp/bf/
timeout 150 python3 tools/bench/gpu_gpt2.py --fly-run $run --artifacts /tmp/bf --peer .carry/nl/peer/torch_peer_bench.py --repeats 2 --csv $OUT/bench.csv --out-dir /tmp/bench > $OUT/bench.txt 2>&1; echo "bench exit $? at ${SECONDS}s"
grep -A16 "^part " $OUT/bench.txt | head -16
fi
# Nsight Compute of the faster build's hidden kernel (where the waits went).
# RUN15_LEAN=1 (a short call): checks, A/B and profiles only.
if [ -n "$win" ] && [ $SECONDS -lt 280 ] && [ -z "${RUN15_LEAN:-}" ]; then
  timeout 120 tools/gpu/ncu-kernel.sh $run .carry/$win/gpt2-mlp-monarch4-b32.fly '_hidden' ncu-$win $OUT/ncu > /dev/null 2>&1; echo "ncu exit $? at ${SECONDS}s"
  cat $OUT/ncu/ncu-$win-summary.txt 2>/dev/null | head -40
  tar czf $OUT/ncu.tgz -C $OUT ncu 2>/dev/null && rm -rf $OUT/ncu
fi
# Sanitizers last, with the time that is left.
for v in 15p 15q; do
  [ $SECONDS -lt 400 ] && [ -z "${RUN15_LEAN:-}" ] || { echo "sanitize $v skipped"; continue; }
  FLY_CHECK_ONLY='2x128' timeout 40 tools/gpu/device-check.sh /tmp/c$v /tmp/san$v > $OUT/sanitize$v.txt 2>&1; echo "sanitize $v exit $? at ${SECONDS}s"
done
cat $OUT/sanitize15p.txt $OUT/sanitize15q.txt > $OUT/sanitize.txt
grep -hE "ERROR SUMMARY|RACECHECK SUMMARY|hazard|FAIL" $OUT/sanitize.txt | sort | uniq -c | head

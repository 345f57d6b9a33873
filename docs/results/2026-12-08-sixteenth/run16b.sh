#!/usr/bin/env bash
# Sixteenth session: checks of builds TAGS (default "16c 16d": persistent
# factor 2, lockstep / producer hidden kernel) against the CPU references
# (correctness before timing; make16c.sh's set, where persistent CTAs take
# several row tiles), A/B against 16a (factor-2 ring of 10, the new
# default), b32 per-kernel profiles of every build, sanitizers on the d256
# body. Run as
#   bash docs/results/2026-12-08-sixteenth/run16b.sh 2>&1 | tail -90
#   carry: .carry/nl .carry/b16a .carry/b16c .carry/b16d .carry/c16c
# (the files come back as one tarball, run16b.tgz).
set -uo pipefail
trap 'tar czf /tmp/run16b.tgz -C $OUT . && rm -rf $OUT/* && mv /tmp/run16b.tgz $OUT/' EXIT
export LD_LIBRARY_PATH=$PWD/.carry/c16c/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
tags=${TAGS:-16c 16d}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
ab=()
for v in $tags; do
  c=/tmp/c$v; mkdir -p $c
  ln -sf $PWD/.carry/c16c/*.npy $PWD/.carry/c16c/*.cpu.fly $PWD/.carry/c16c/nlohmann $PWD/.carry/c16c/*-$v.fly $c/
  FLY_SANITIZE=0 timeout 150 tools/gpu/device-check.sh $c /tmp/chk$v > $OUT/check$v.txt 2>&1; rc=$?
  echo "check $v exit $rc at ${SECONDS}s"
  grep -hE "^== |max rel" $OUT/check$v.txt | paste - - | cut -c1-200
  [ $rc = 0 ] && ab+=(--b .carry/b$v)
done
[ ${#ab[@]} -gt 0 ] || { echo "no build passed its checks: not timing"; exit 1; }
timeout 200 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b16a "${ab[@]}" --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b16a $(for t in $tags; do echo b$t; done); do
  for r in 1 2; do
    echo "== $v b32 ($r)"; timeout 30 $run .carry/$v/gpt2-mlp-monarch4-b32.fly --weights random --iters 20 --warmup 3 --profile /tmp/prof-$v.json 2>&1 | grep fly_monarch | head -3
  done
done
for v in $tags; do
  [ $SECONDS -lt 400 ] && [ -z "${RUN16_LEAN:-}" ] || { echo "sanitize $v skipped"; continue; }
  FLY_CHECK_ONLY='2x128' timeout 40 tools/gpu/device-check.sh /tmp/c$v /tmp/san$v > $OUT/sanitize$v.txt 2>&1; echo "sanitize $v exit $? at ${SECONDS}s"
done
cat $OUT/sanitize*.txt > $OUT/sanitize.txt 2>/dev/null
grep -hE "ERROR SUMMARY|RACECHECK SUMMARY|hazard|FAIL" $OUT/sanitize.txt | sort | uniq -c | head

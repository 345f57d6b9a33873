#!/usr/bin/env bash
# Sixteenth session: checks of builds TAGS (default "16a 16b") against the
# CPU references (correctness before timing), A/B against HEAD's kernels
# (.carry/b14b), b32 per-kernel profiles of every build, sanitizers on the
# d256 body. Run as
#   bash docs/results/2026-12-08-sixteenth/run16a.sh 2>&1 | tail -90
#   carry: .carry/nl .carry/b14b .carry/b16a .carry/b16b .carry/c16
# (the files come back as one tarball, run16a.tgz).
set -uo pipefail
trap 'tar czf /tmp/run16a.tgz -C $OUT . && rm -rf $OUT/* && mv /tmp/run16a.tgz $OUT/' EXIT
tags=${TAGS:-16a 16b}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/nl /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "runtime built at ${SECONDS}s"
ab=()
for v in $tags; do
  c=/tmp/c$v; mkdir -p $c
  ln -sf $PWD/.carry/c16/*.npy $PWD/.carry/c16/nlohmann $PWD/.carry/c16/*-$v.fly $c/
  FLY_SANITIZE=0 timeout 60 tools/gpu/device-check.sh $c /tmp/chk$v > $OUT/check$v.txt 2>&1; rc=$?
  echo "check $v exit $rc at ${SECONDS}s"
  grep -hE "^== |max rel" $OUT/check$v.txt | paste - - | cut -c1-200
  [ $rc = 0 ] && ab+=(--b .carry/b$v)
done
[ ${#ab[@]} -gt 0 ] || { echo "no build passed its checks: not timing"; exit 1; }
timeout 200 python3 tools/bench/gpu_ab.py --fly-run $run --a .carry/b14b "${ab[@]}" --rounds 2 --match monarch > $OUT/ab.txt 2>&1; echo "ab exit $? at ${SECONDS}s"
grep -E "^\||^geometric|^fastest" $OUT/ab.txt
for v in b14b $(for t in $tags; do echo b$t; done); do
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

#!/usr/bin/env bash
# Ninth session, call 1: correctness of HEAD's artifacts (whole check set, sanitizers on the tiny
# GPT-2 set), then as much of the full benchmark as fits (ARTS).
set -uo pipefail
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader | tee $OUT/info.txt
python3 -c "import torch; print('torch', torch.__version__)" | tee -a $OUT/info.txt
run=$(tools/gpu/build-runtime.sh .carry/chk9 /tmp/fly-build-rt $OUT/cmake.log) || { tail -30 $OUT/cmake.log; exit 1; }
echo "built at ${SECONDS}s"
python3 tools/gpu/scatterbrain_checks.py inputs .carry/chk9 > $OUT/sb-inputs.txt 2>&1 || echo "sb inputs failed"
FLY_CHECK_ONLY='^tiny-gpt2$' timeout 60 tools/gpu/device-check.sh .carry/chk9 /tmp/check > $OUT/check-san.txt 2>&1; echo "check (sanitized) exit $? at ${SECONDS}s"
FLY_SANITIZE=0 timeout 200 tools/gpu/device-check.sh .carry/chk9 /tmp/check2 > $OUT/check-all.txt 2>&1; echo "check-all exit $? at ${SECONDS}s"
grep -hE "^== |rel|FAIL|OK|ERROR" $OUT/check-san.txt $OUT/check-all.txt | grep -v "fly_" | head -80
grep -h "compute-sanitizer\|ERROR SUMMARY\|hazard" $OUT/check-san.txt | head
timeout 120 tools/gpu/gemm-selftest/run-there.sh .carry/gs9 -- --samples=10 > $OUT/selftest.txt 2>&1; echo "selftest exit $? at ${SECONDS}s"
tail -22 $OUT/selftest.txt

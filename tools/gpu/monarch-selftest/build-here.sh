#!/usr/bin/env bash
#===- build-here.sh - compile the fused Monarch self-test (CPU machine) ----===#
#
# Generates Monarch specs with MonarchKernel.cpp (through emit-monarch-main),
# lowers each to a host object with the sm_90a kernel embedded as a fatbin,
# gates each kernel on its PTX (wgmma / TMA / mbarrier / fence.proxy.async
# present) and on `ptxas -v` (no spills, no C7515 / warnings), and writes
# what run-there.sh needs into OUT_DIR (default: tools/gpu/monarch-selftest/out):
#
#   monarch_<i>.o / .ptx, monarch_specs.inc (table for check.cpp),
#   ptxas-report.txt, and copies of check.cpp, dense.py, run-there.sh.
#
# Usage: build-here.sh [OUT_DIR]; env REPEATS (launches per timing sample,
# default 20), JOBS (parallel specs, default 1), SPEC_SET=race (small specs
# for compute-sanitizer instead of the timing set), SPEC_SET=mlp (the two
# M=8192 GPT-2 MLP kernels only), SPEC_SET=down (see below), EMIT_FLAGS
# (extra emit-monarch flags, e.g. --tiles-in-flight=2, --split), SPECS_FILE
# (one spec per line instead of the built-in set).
#
# Entry points per spec i (llvm.emit_c_interface, memref descriptors):
#   _mlir_ciface_fly_monarch_test_<i>(X*, W1*, W2*, Bias*, Y*)         one launch
#   _mlir_ciface_fly_monarch_test_<i>_repeat(X*, W1*, W2*, Bias*, Y*)  REPEATS
# (Bias is ignored by specs without --bias but must be passed.)
#
#===------------------------------------------------------------------------===#
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT_DIR="${1:-$HERE/out}"
REPEATS="${REPEATS:-20}"
PATH="/usr/local/cuda/bin:$PATH"
MLIR_OPT="${MLIR_OPT:-mlir-opt-22}"
MLIR_TRANSLATE="${MLIR_TRANSLATE:-mlir-translate-22}"
LLC="${LLC:-llc-22}"

# emit-monarch-main arguments: M K Q P L S R [flags]. GPT-2 MLP, nblocks 4:
# fc1 768 -> 3072 (w1[4,192,192], w2[4,768,192]) with bias + GELU,
# fc2 3072 -> 768 (w1[4,192,768], w2[4,192,192]) with bias.
FC1="4 192 192 4 768 192 --bias --gelu"
FC2="4 192 768 4 192 192 --bias"
# SPEC_SET=race: the small specs a compiled GPT-2 (d 256) produced, plus
# GPT-2-small shapes at a few CTAs, for compute-sanitizer (REPEATS=1 there).
FC1S="4 64 64 4 256 64 --bias --gelu"
FC2S="4 64 256 4 64 64 --bias"
RACE_SPECS=(
  "256 $FC1S"
  "256 $FC2S"
  "100 $FC1S"
  "128 $FC1"
  "100 $FC2"
)
SPECS=(
  "8192 $FC1"
  "8192 $FC2"
  "100 $FC1"                                  # ragged: one partial CTA
  "33 $FC2"                                   # ragged fc2
  "1000 4 192 192 4 768 192 --type=bf16"      # bf16, no epilogue, ragged
  "16384 $FC1"
  "16384 $FC2"
  "32768 $FC1"
  "32768 $FC2"
)

if [ "${SPEC_SET:-}" = race ]; then SPECS=("${RACE_SPECS[@]}"); fi
# SPECS_FILE: one spec per line (# comments), e.g. to compare variants.
if [ -n "${SPECS_FILE:-}" ]; then
  mapfile -t SPECS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$SPECS_FILE")
fi
if [ "${SPEC_SET:-}" = mlp ]; then SPECS=("8192 $FC1" "8192 $FC2"); fi
# SPEC_SET=down: the down projection at batch 8 and 32, ragged specs (the
# last CTA past m), a natural-output up projection and bf16, for A/Bs.
if [ "${SPEC_SET:-}" = down ]; then
  SPECS=("8192 $FC2" "32768 $FC2" "33 $FC2" "100 $FC1" "1000 $FC2 --type=bf16")
fi
# SPEC_SET=down-sizes: the down projection at row counts that fill the GPU
# partly (1 to 4 GPT-2 sequences of 1024, 6144).
if [ "${SPEC_SET:-}" = down-sizes ]; then
  SPECS=("1024 $FC2" "2048 $FC2" "4096 $FC2" "6144 $FC2")
fi

pipeline() {
  local format="$1"
  # gpu-async-region (as fly's pipeline): the split-factors launcher's
  # gpu.alloc / gpu.dealloc of h' become stream-ordered.
  echo "builtin.module(func.func(gpu-async-region),convert-nvgpu-to-nvvm,convert-vector-to-scf,\
convert-scf-to-cf,convert-nvvm-to-llvm,convert-func-to-llvm,\
expand-strided-metadata,nvvm-attach-target{chip=sm_90a features=+ptx80 O=3},\
lower-affine,convert-arith-to-llvm,convert-index-to-llvm,canonicalize,cse,\
gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),\
gpu-to-llvm,gpu-module-to-binary{format=$format},convert-math-to-llvm,\
canonicalize,cse,reconcile-unrealized-casts)"
}

extract_ptx() {
  python3 - "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
match = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', text)
if not match:
    match = re.search(r'#gpu\.object<[^"]*"((?:[^"\\]|\\.)*)"', text)
ptx = re.sub(r'\\([0-9A-Fa-f]{2})', lambda m: chr(int(m.group(1), 16)),
             match.group(1))
open(sys.argv[2], 'w').write(ptx.replace('\\\\', '\\'))
PY
}

mkdir -p "$OUT_DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== building emit-monarch"
g++ -std=c++17 -O1 -I "$REPO/lowering/include" \
  "$REPO/lowering/lib/FlyToGPU/MonarchKernel.cpp" \
  "$REPO/lowering/lib/FlyToGPU/tools/emit-monarch-main.cpp" \
  -o "$WORK/emit-monarch"

build_one() {
  local i="$1"
  # shellcheck disable=SC2206
  local args=(${SPECS[$i]})
  local m="$WORK/monarch_$i.mlir" ptx="$OUT_DIR/monarch_$i.ptx"
  # shellcheck disable=SC2086
  "$WORK/emit-monarch" "${args[@]}" --bench-repeats="$REPEATS" \
    --test-wrapper="fly_monarch_test_$i" ${EMIT_FLAGS:-} > "$m"
  "$MLIR_OPT" "$m" --pass-pipeline="$(pipeline isa)" -o "$WORK/$i.isa.mlir"
  extract_ptx "$WORK/$i.isa.mlir" "$ptx"
  local name wgmma tma tryWait fence shape ptxas_out regs spills smem dsmem
  name="$(head -1 "$m" | sed 's,^// \([a-z0-9_]*\):.*,\1,')"
  wgmma=$(grep -c 'wgmma.mma_async' "$ptx" || true)
  tma=$(grep -c 'cp.async.bulk.tensor' "$ptx" || true)
  tryWait=$(grep -c 'mbarrier.try_wait.parity' "$ptx" || true)
  fence=$(grep -c 'fence.proxy.async' "$ptx" || true)
  shape=$(grep -o 'wgmma.mma_async.sync.aligned.m64n[0-9]*k16.f32.[a-z0-9]*' \
    "$ptx" | sort | uniq -c | awk '{printf "%sx%s ", $2, $1}')
  ptxas_out=$(ptxas -arch=sm_90a -v "$ptx" -o "$OUT_DIR/monarch_$i.cubin" 2>&1)
  regs=$(echo "$ptxas_out" | grep -o 'Used [0-9]* registers' || true)
  spills=$(echo "$ptxas_out" | grep -o '[0-9]* bytes spill stores, [0-9]* bytes spill loads' || true)
  smem=$(echo "$ptxas_out" | grep -o '[0-9]* bytes smem' || true)
  dsmem=$(grep -o 'dynamic_shared_memory_size %c[0-9]*_i32' "$m" | head -1 |
    grep -o '[0-9]*_i32' | sed 's/_i32//')
  local status=ok
  # Split factors: G arrives by TMA (no generic stores into it, no fence).
  local needFence=1
  case "$name" in *_split*) needFence=0 ;; esac
  if [ "$wgmma" -eq 0 ] || [ "$tma" -eq 0 ] || [ "$tryWait" -eq 0 ] ||
     { [ "$fence" -eq 0 ] && [ "$needFence" -eq 1 ]; }; then
    status="FAIL(missing wgmma/TMA/mbarrier/fence)"
  fi
  echo "$spills" | grep -q '^0 bytes spill stores, 0 bytes spill loads' ||
    status="FAIL(spills)"
  if echo "$ptxas_out" | grep -qi 'C7515\|serializ\|warning'; then
    status="FAIL(ptxas: $(echo "$ptxas_out" | grep -i warn | head -2))"
  fi
  echo "[$i] $name: ${shape}TMA x$tma, try_wait x$tryWait, fence.proxy.async x$fence; $regs; $spills; static $smem + $dsmem B dynamic: $status" \
    > "$WORK/report_$i.txt"
  "$MLIR_OPT" "$m" --pass-pipeline="$(pipeline fatbin)" -o "$WORK/$i.llvm.mlir"
  "$MLIR_TRANSLATE" --mlir-to-llvmir "$WORK/$i.llvm.mlir" -o "$WORK/$i.ll"
  "$LLC" -O3 -filetype=obj -relocation-model=pic "$WORK/$i.ll" \
    -o "$OUT_DIR/monarch_$i.o"
}

: > "$OUT_DIR/monarch_specs.inc"
for i in "${!SPECS[@]}"; do
  # shellcheck disable=SC2206
  args=(${SPECS[$i]})
  # EMIT_FLAGS too: some change the kernel's name (--split), which
  # check.cpp reads.
  # shellcheck disable=SC2086
  "$WORK/emit-monarch" "${args[@]}" --spec-line="$i" \
    --bench-repeats="$REPEATS" ${EMIT_FLAGS:-} >> "$OUT_DIR/monarch_specs.inc"
done
JOBS="${JOBS:-1}"
for i in "${!SPECS[@]}"; do
  echo "== [$i] ${SPECS[$i]}"
  build_one "$i" &
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
done
wait
cat "$WORK"/report_*.txt | sort -t']' -k1.2n > "$OUT_DIR/ptxas-report.txt"
cat "$OUT_DIR/ptxas-report.txt"
cp "$HERE/check.cpp" "$HERE/dense.py" "$HERE/run-there.sh" "$OUT_DIR/"
echo "== host calls in the objects"
nm "$OUT_DIR"/monarch_*.o | grep -o ' U mgpu[A-Za-z]*' | sort | uniq -c
if grep -q FAIL "$OUT_DIR/ptxas-report.txt"; then
  echo "build-here.sh: PTX gate failed" >&2
  exit 1
fi
echo "== done: $OUT_DIR"

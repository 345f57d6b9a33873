#!/usr/bin/env bash
#===- build-here.sh - compile the wgmma GEMM self-test (CPU machine) -------===#
#
# Generates a few GEMM specs with WgmmaGemm.cpp (through emit-gemm-main),
# lowers each to a host object file with the sm_90a kernel embedded as a
# fatbin, gates each kernel on its PTX (wgmma / TMA / mbarrier present) and on
# `ptxas -v` (no spills, no C7515 "wgmma serialized"), and writes everything
# run-there.sh needs into OUT_DIR (default: tools/gpu/gemm-selftest/out):
#
# Usage: build-here.sh [OUT_DIR]; env REPEATS (launches per timing sample,
# default 20), SPECS_FILE (see SPECS below).
#
#   gemm_<i>.o       host code + fatbin of spec i (needs the mgpu* runtime)
#   gemm_<i>.ptx     the kernel's PTX, for reading
#   gemm_specs.inc   the spec table check.cpp includes
#   ptxas-report.txt registers / spills / smem / instruction counts per spec
#
# Needs mlir-opt-22, mlir-translate-22, llc-22, g++ and CUDA's ptxas
# (/usr/local/cuda/bin; gpu-module-to-binary also uses it for the fatbin).
#
# Calling convention of the test entry points (see emit-gemm-main.cpp): each
# spec i exports
#   _mlir_ciface_fly_gemm_test_<i>(A*, B*, Bias*, R*, C*)         one launch
#   _mlir_ciface_fly_gemm_test_<i>_repeat(A*, B*, Bias*, R*, C*)  REPEATS
#       launches back to back on one stream, one wait
# where every argument is a pointer to an MLIR memref descriptor
# {allocated, aligned, offset, sizes[rank], strides[rank]} (default, non-bare
# calling convention + llvm.emit_c_interface). Unused operands (bias without
# a bias epilogue, R without residual) are ignored but must be passed.
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

# One spec per line: emit-gemm-main arguments (M N K [flags]). SPECS_FILE
# (one spec per line, # comments) replaces this list, e.g. to compare tile
# widths or stage counts.
SPECS=(
  "8192 3072 768 --epilogue=gelu"            # GPT-2 MLP up (B*T = 8192)
  "8192 768 3072 --epilogue=bias --residual" # GPT-2 MLP down + residual
  "8192 2304 768 --epilogue=bias"            # GPT-2 fused QKV projection
  "8192 768 768 --epilogue=bias --residual"  # GPT-2 attention output
  "100 128 64"                               # m < one tile, one k-tile
  "32 64 64 --tile-n=64"                     # tiny, tileN 64
  "1000 2304 3072 --epilogue=gelu --residual" # ragged m, long k, everything
  "1000 768 768 --epilogue=gelu --residual --tile-n=64 --type=bf16"
  "8192 3072 768 --epilogue=gelu --type=bf16"
  "4096 4096 4096"                           # square, to compare with cuBLAS
  # The warp-specialised schedule as fly-compile's defaults build it
  # (producer warpgroup; register epilogue with a residual or GELU, the
  # staging one for bias only), ragged m included.
  "8192 768 768 --epilogue=bias --residual --warp-specialized --producer-warpgroup"
  "8192 2304 768 --epilogue=bias --warp-specialized --staging-epilogue --producer-warpgroup"
  "1000 2304 3072 --epilogue=gelu --residual --warp-specialized --producer-warpgroup"
)

if [ -n "${SPECS_FILE:-}" ]; then
  mapfile -t SPECS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$SPECS_FILE")
fi

# The lowering. convert-nvgpu-to-nvvm runs on host and device code (TMA
# descriptor creation, resp. wgmma/TMA/mbarrier ops); the kernel's
# tensormap !llvm.ptr casts then fold in reconcile-unrealized-casts.
pipeline() {
  local format="$1"
  echo "builtin.module(convert-nvgpu-to-nvvm,convert-vector-to-scf,\
convert-scf-to-cf,convert-nvvm-to-llvm,convert-func-to-llvm,\
expand-strided-metadata,nvvm-attach-target{chip=sm_90a features=+ptx80 O=3},\
lower-affine,convert-arith-to-llvm,convert-index-to-llvm,canonicalize,cse,\
gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),\
gpu-to-llvm,gpu-module-to-binary{format=$format},convert-math-to-llvm,\
canonicalize,cse,reconcile-unrealized-casts)"
}

# The PTX of a gpu.binary in `format=isa` output: the assembly string uses
# \XX hex escapes.
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

echo "== building emit-gemm"
g++ -std=c++17 -O1 -I "$REPO/lowering/include" \
  "$REPO/lowering/lib/FlyToGPU/WgmmaGemm.cpp" \
  "$REPO/lowering/lib/FlyToGPU/tools/emit-gemm-main.cpp" -o "$WORK/emit-gemm"

: > "$OUT_DIR/gemm_specs.inc"
REPORT="$OUT_DIR/ptxas-report.txt"
: > "$REPORT"
failed=0
for i in "${!SPECS[@]}"; do
  # shellcheck disable=SC2206
  args=(${SPECS[$i]})
  name="$("$WORK/emit-gemm" "${args[@]}" --spec-line="$i" \
    --bench-repeats="$REPEATS" | tee -a "$OUT_DIR/gemm_specs.inc" |
    sed 's/.*"\(.*\)".*/\1/')"
  echo "== [$i] ${SPECS[$i]}  ($name)"
  "$WORK/emit-gemm" "${args[@]}" --bench-repeats="$REPEATS" \
    --test-wrapper="fly_gemm_test_$i" > "$WORK/gemm_$i.mlir"

  # Gate: the PTX must hold the sm_90 instructions, ptxas must not spill or
  # serialize the wgmma pipeline.
  "$MLIR_OPT" "$WORK/gemm_$i.mlir" --pass-pipeline="$(pipeline isa)" \
    -o "$WORK/gemm_$i.isa.mlir"
  extract_ptx "$WORK/gemm_$i.isa.mlir" "$OUT_DIR/gemm_$i.ptx"
  ptx="$OUT_DIR/gemm_$i.ptx"
  wgmma=$(grep -c 'wgmma.mma_async' "$ptx" || true)
  tma=$(grep -c 'cp.async.bulk.tensor' "$ptx" || true)
  tryWait=$(grep -c 'mbarrier.try_wait.parity' "$ptx" || true)
  shape=$(grep -o 'wgmma.mma_async.sync.aligned.m64n[0-9]*k16.f32.[a-z0-9]*' \
    "$ptx" | sort -u | tr '\n' ' ')
  ptxas_out=$(ptxas -arch=sm_90a -v "$ptx" -o "$WORK/gemm_$i.cubin" 2>&1)
  regs=$(echo "$ptxas_out" | grep -o 'Used [0-9]* registers' || true)
  spills=$(echo "$ptxas_out" | grep -o '[0-9]* bytes spill stores, [0-9]* bytes spill loads' || true)
  smem=$(echo "$ptxas_out" | grep -o '[0-9]* bytes smem' || true)
  dsmem=$(grep -o 'dynamic_shared_memory_size %c[0-9]*_i32' "$WORK/gemm_$i.mlir" |
    head -1 | grep -o '[0-9]*_i32' | sed 's/_i32//')
  line="[$i] $name: ${shape}x$wgmma, TMA x$tma, try_wait x$tryWait; $regs; $spills; static $smem + $dsmem B dynamic"
  echo "$line" | tee -a "$REPORT"
  if [ "$wgmma" -eq 0 ] || [ "$tma" -eq 0 ] || [ "$tryWait" -eq 0 ]; then
    echo "FAIL: missing wgmma/TMA/mbarrier instructions" | tee -a "$REPORT"
    failed=1
  fi
  if ! echo "$spills" | grep -q '^0 bytes spill stores, 0 bytes spill loads'; then
    echo "FAIL: spills" | tee -a "$REPORT"
    failed=1
  fi
  if echo "$ptxas_out" | grep -qi 'C7515\|serializ\|warning'; then
    echo "FAIL: ptxas warning: $(echo "$ptxas_out" | grep -i 'warn')" |
      tee -a "$REPORT"
    failed=1
  fi

  # The object: fatbin (cubin for sm_90a + PTX) embedded in host code.
  "$MLIR_OPT" "$WORK/gemm_$i.mlir" --pass-pipeline="$(pipeline fatbin)" \
    -o "$WORK/gemm_$i.llvm.mlir"
  "$MLIR_TRANSLATE" --mlir-to-llvmir "$WORK/gemm_$i.llvm.mlir" \
    -o "$WORK/gemm_$i.ll"
  "$LLC" -O3 -filetype=obj -relocation-model=pic "$WORK/gemm_$i.ll" \
    -o "$OUT_DIR/gemm_$i.o"
done

echo "== host calls in the objects"
nm "$OUT_DIR"/gemm_*.o | grep -o ' U mgpu[A-Za-z]*' | sort | uniq -c
if [ "$failed" -ne 0 ]; then
  echo "build-here.sh: PTX gate failed (see $REPORT)" >&2
  exit 1
fi
echo "== done: $OUT_DIR (carry it to the GPU machine, then run-there.sh)"

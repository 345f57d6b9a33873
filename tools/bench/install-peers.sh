#!/usr/bin/env bash
# Installs the benchmark peers (PyTorch CPU eager + transformers' GPT-2) into
# the python3 on PATH, for tools/bench/cpu_gpt2.py. Not part of the test setup:
# CI never runs this (it downloads about 3 GB).
#
# Only PyPI is reachable here, and PyPI's Linux x86_64 torch wheels are CUDA
# builds: `pip install --no-deps torch` installs, but `import torch` fails
# (libtorch_cuda.so needs libcufile.so.0 and the other nvidia-* libraries),
# so the CUDA runtime wheels are installed too. They are only loaded, never
# used: torch.cuda.is_available() is False and everything runs on the CPU.
# Measured (2026, this machine): torch wheel 539 MB + nvidia-*/triton/cuda
# wheels about 2.5 GB download; about 5.3 GB on disk; ~90 s in all.
#
# Idempotent: does nothing when torch and transformers already import.
# Usage: tools/bench/install-peers.sh        (PYTHON=..., TORCH_VERSION=...
#        override the interpreter and the torch version, default 2.15.0)
set -euo pipefail

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.15.0}

check() {
  "$PYTHON" - <<'EOF'
import torch, transformers
x = torch.randn(64, 64) @ torch.randn(64, 64)
assert x.shape == (64, 64)
print(f"torch {torch.__version__}, transformers {transformers.__version__}: ok")
EOF
}

if check 2>/dev/null; then
  exit 0
fi

echo "install-peers: installing torch==$TORCH_VERSION, transformers (PyPI)"
"$PYTHON" -m pip install --quiet "torch==$TORCH_VERSION" transformers numpy
check

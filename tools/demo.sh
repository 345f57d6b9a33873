#!/usr/bin/env bash
# The main job: sets up, builds, then shows fly-opt lowering an MLP with a
# Monarch up-projection (models/examples/monarch_mlp.mlir) and checks its
# numbers on the CPU against the independent C++ reference.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh
BUILD_DIR=${FLY_BUILD_DIR:-build}
EXAMPLE=${1:-models/examples/monarch_mlp.mlir}

echo "== IR before ($EXAMPLE)"
cat "$EXAMPLE"
echo "== IR after convert-fly-to-linalg, canonicalize, cse"
"$BUILD_DIR/bin/fly-opt" "$EXAMPLE" --convert-fly-to-linalg --canonicalize --cse
echo "== run on the CPU (JIT) vs the C++ reference"
"$BUILD_DIR/bin/fly-ref-check" "$EXAMPLE"

#!/usr/bin/env bash
# On the GPU machine (no LLVM there): builds the fly runtime and fly-run with
# cmake + g++ into BUILD_DIR (default /tmp/fly-build-rt) and prints the path
# of fly-run. NLOHMANN_PARENT is a directory holding nlohmann/ (the JSON
# headers, which that machine lacks; make-check-artifacts.sh copies them).
#
#   run=$(tools/gpu/build-runtime.sh NLOHMANN_PARENT [BUILD_DIR] [LOG])
set -euo pipefail
json=${1:?usage: build-runtime.sh NLOHMANN_PARENT [BUILD_DIR] [LOG]}
build=${2:-/tmp/fly-build-rt}
log=${3:-/dev/stderr}
root=$(cd "$(dirname "$0")/../.." && pwd)
cmake -S "$root/runtime" -B "$build" -G Ninja -DFLY_REQUIRE_CUDA=ON \
  -DFLY_NLOHMANN_INCLUDE_DIR="$json" >>"$log" 2>&1 &&
  cmake --build "$build" >>"$log" 2>&1 ||
  { [ "$log" = /dev/stderr ] || tail -30 "$log" >&2; exit 1; }
echo "$build/bin/fly-run"

#!/usr/bin/env bash
# Installs what fly needs (Debian packages) and builds it in ./build.
# Idempotent: installs only what is missing, rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang-14 and libclang-rt-14-dev build the libFuzzer targets (test/Fuzz);
# libstb-dev (stb_image, stb_image_resize) decodes images in fly-classify.
PACKAGES=(cmake ninja-build g++ python3
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  nlohmann-json3-dev libeigen3-dev libgtest-dev libomp-22-dev python3-pip
  clang-14 libclang-rt-14-dev libstb-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

# The conformance tests' oracle scripts (numpy, safetensors) and the
# fly-classify test's image generator (Pillow) run under the python3 on PATH.
if ! python3 -c "import numpy, safetensors, PIL" >/dev/null 2>&1; then
  echo "== installing numpy, safetensors and Pillow (pip)"
  python3 -m pip install -q numpy safetensors pillow 2>/dev/null ||
    python3 -m pip install -q --break-system-packages numpy safetensors pillow
fi

# The CUDA toolkit (not in Debian main) provides cuda.h for the runtime's
# GPU support and ptxas for the GPU binaries the tests embed; no GPU needed.
CUDA_DIR=${CUDA_HOME:-/usr/local/cuda}
if [ ! -x "$CUDA_DIR/bin/ptxas" ] || [ ! -f "$CUDA_DIR/include/cuda.h" ]; then
  echo "error: the CUDA toolkit is missing ($CUDA_DIR/bin/ptxas, $CUDA_DIR/include/cuda.h);" >&2
  echo "       install it from NVIDIA (CUDA 12.x/13.x) or set CUDA_HOME" >&2
  exit 1
fi

BUILD_DIR=${FLY_BUILD_DIR:-build}
JOBS=${FLY_JOBS:-2}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  echo "== configuring $BUILD_DIR"
  cmake -G Ninja -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DFLY_REQUIRE_CUDA=ON
fi
echo "== building (ninja -j$JOBS)"
ninja -C "$BUILD_DIR" -j"$JOBS"

#!/usr/bin/env bash
# Configures and builds mod_isbalancer and its unit tests into ./build (or $BUILD_DIR).
# Extra arguments go to cmake's configure step, e.g. -DCMAKE_BUILD_TYPE=Release.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DISB_WERROR=ON "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

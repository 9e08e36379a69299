#!/usr/bin/env bash
# The core and its unit tests under the sanitizers, built with clang 14:
# ASan+UBSan in build-asan, TSan in build-tsan (the [concurrency] test has many
# threads picking and updating shared counters at once). Any report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export CXX=clang++-14
common=(-DCMAKE_BUILD_TYPE=Debug -DISB_BUILD_MODULE=OFF)

echo "== unit tests under ASan+UBSan"
BUILD_DIR=build-asan bash scripts/build.sh "${common[@]}" -DISB_SANITIZE=address,undefined >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$(nproc)")

echo "== concurrency tests under TSan"
BUILD_DIR=build-tsan bash scripts/build.sh "${common[@]}" -DISB_SANITIZE=thread >/dev/null
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ./tests/unit/unit_tests "[concurrency]")

#!/usr/bin/env bash
# The core and its unit tests under the sanitizers, built with clang 14:
# ASan+UBSan in build-asan, TSan in build-tsan (the [concurrency] test has many
# threads picking and updating shared counters at once); then the module itself
# under ASan+UBSan (build-asan-module) loaded into real httpd instances for the
# integration tests. Any report fails.
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

echo "== the module under ASan+UBSan in real httpd (integration tests)"
# httpd is not instrumented, so the module links the sanitizer runtime as a shared
# library and httpd runs with it preloaded (tests/integration/harness.py does that
# when ISB_SANITIZER_RUNTIME is set). Leak detection is off there: httpd keeps its
# process-lifetime allocations to exit and its children drop root, which
# LeakSanitizer cannot follow; the unit tests above run with leak detection on.
BUILD_DIR=build-asan-module bash scripts/build.sh -DCMAKE_BUILD_TYPE=Debug -DISB_BUILD_TESTS=OFF \
  -DISB_SANITIZE=address,undefined >/dev/null
runtime=$(clang++-14 -print-file-name=libclang_rt.asan-x86_64.so)
[ -f "$runtime" ] || { echo "sanitize.sh: no ASan runtime ($runtime); install libclang-rt-14-dev" >&2; exit 1; }
reports=$PWD/build-asan-module/reports
rm -rf "$reports" && mkdir -p "$reports" && chmod 1777 "$reports"
ISB_MODULE=$PWD/build-asan-module/mod_isbalancer.so ISB_SANITIZER_RUNTIME=$runtime \
  ISB_SANITIZER_LOG_DIR=$reports ISB_FIGURES_DIR=$PWD/build-asan-module/reliability \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  tests/integration/test_smoke.py tests/integration/test_balancing.py \
  tests/integration/test_lifecycle.py tests/integration/test_manager.py \
  tests/integration/test_manager_edit.py tests/integration/test_vhost_edits.py \
  tests/integration/test_ansible.py \
  tests/integration/test_faults.py tests/integration/test_bad_input.py
# Each test already fails on its own instances' reports; this also catches one
# written by an httpd that no test looked at.
if [ -n "$(ls -A "$reports")" ]; then
  echo "sanitize.sh: sanitizer reports in $reports:" >&2
  head -n 40 "$reports"/* >&2
  exit 1
fi

#!/usr/bin/env bash
# The one test command: installs what is missing, builds with warnings as errors,
# checks formatting, then runs the unit tests (CTest), the same under ASan+UBSan
# and TSan, every libFuzzer target for ISB_FUZZ_SECONDS (60), the integration tests
# (pytest against real httpd instances and backends on 127.0.0.1) and the
# end-to-end test of the demo cluster (real Tomcat nodes, TLS throughout).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
bash scripts/build.sh

echo "== clang-format"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

echo "== docs"
/usr/bin/python3 scripts/check_docs.py

echo "== unit tests"
(cd build && ctest --output-on-failure -j"$(nproc)")

bash scripts/sanitize.sh
bash scripts/fuzz.sh "${ISB_FUZZ_SECONDS:-60}"

echo "== benchmark, quick mode (measures; never fails on a figure)"
bash bench/run.sh --quick

echo "== integration and end-to-end tests"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration tests/e2e

#!/usr/bin/env bash
# The one test command: installs what is missing, builds with warnings as errors,
# checks formatting, then runs the unit tests (CTest) and the integration tests
# (pytest against real httpd instances and backends on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
bash scripts/build.sh

echo "== clang-format"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

echo "== unit tests"
(cd build && ctest --output-on-failure -j"$(nproc)")

echo "== integration tests"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

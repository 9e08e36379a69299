#!/usr/bin/env bash
# The benchmark command: builds mod_isbalancer and the core microbenchmarks in
# Release mode (into build-release, or $ISB_BENCH_BUILD_DIR), then runs every
# benchmark side by side for direct, stock and mod_isbalancer (bench/suite.py).
#
#   bash bench/run.sh           full run (about 10 min): bench/results/bench.{json,md}, *.png
#   bash bench/run.sh --quick   seconds (CI): results under build-release/bench-quick/
#   bash bench/run.sh --only failing_member [--quick]
#                               the failing-member section alone (about 2.5 min full):
#                               failing_member.{json,md,png} in the same directory
#
# Needs the packages of scripts/deps.sh (wrk, valgrind, gnuplot-nox, libbenchmark-dev).
# Benchmarks measure; a figure never makes this command fail.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ISB_BENCH_BUILD_DIR:-build-release}
# No unit tests in this tree: `build` has them, and CI's quick run stays short.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DISB_WERROR=ON -DISB_BUILD_TESTS=OFF \
  -DISB_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" >/dev/null
exec /usr/bin/python3 bench/suite.py --build-dir "$BUILD_DIR" "$@"

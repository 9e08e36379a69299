#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan+UBSan) and runs each from its
# committed seed corpus for SECONDS (default 60; CI uses 60). Findings stop the
# script with the crashing input saved in build-fuzz/artifacts/.
#   scripts/fuzz.sh [SECONDS]        e.g. scripts/fuzz.sh 3600 for a long run
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
export CXX=clang++-14
BUILD_DIR=build-fuzz bash scripts/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo -DISB_FUZZ=ON \
  -DISB_BUILD_MODULE=OFF -DISB_BUILD_TESTS=OFF >/dev/null
mkdir -p build-fuzz/artifacts
for target in fuzz/fuzz_*.cpp; do
  name=$(basename "$target" .cpp)
  corpus_name=${name#fuzz_}
  work=build-fuzz/corpus-$corpus_name
  rm -rf "$work" && mkdir -p "$work"
  cp fuzz/corpus/"$corpus_name"/* "$work"/
  echo "== $name for ${secs}s"
  ./build-fuzz/fuzz/"$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 "$work" 2>&1 | tail -n 12
  # pipefail: a finding (non-zero exit of the target) stops the script here.
done

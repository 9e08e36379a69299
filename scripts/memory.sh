#!/usr/bin/env bash
# Memory of httpd's children over many proxied requests (tests/integration/
# test_memory.py): mod_isbalancer, and stock mod_proxy_balancer measured the same
# way for comparison. Figures in build/reliability/memory_<N>[_stock].json.
#   scripts/memory.sh [REQUESTS]      default 1000000 (CI runs 100000 in pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/mod_isbalancer.so ] || bash scripts/build.sh
ISB_MEMORY_REQUESTS=${1:-1000000} ISB_MEMORY_COMPARE=1 \
  /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/integration/test_memory.py

#!/usr/bin/env bash
# Installs the Debian 12 packages that mod_isbalancer needs to build, test and run
# its demo. Safe to run again: it installs only what is missing.
set -euo pipefail

PKGS=(
  g++ cmake make pkg-config            # build
  apache2 apache2-dev                  # httpd, apxs, APR/APR-util and mod_proxy headers
  libssl-dev openssl ca-certificates   # TLS for the demo and the seed test
  catch2                               # unit tests
  nlohmann-json3-dev                   # the JSON library (core/text/json.cpp)
  clang-14 libclang-rt-14-dev          # sanitizer builds and libFuzzer targets
  valgrind                             # bench/instructions.py (callgrind)
  wrk gnuplot-nox libbenchmark-dev     # bench/run.sh and test_memory.py: load, charts, microbenchmarks
  python3 python3-pytest               # integration tests (Debian's /usr/bin/python3)
  python3-prometheus-client            # parses the manager's Prometheus output in tests
  curl procps clang-format             # demo self-check, process checks, format check
  chromium                             # the balancer-manager browser test (tests/browser)
)
# Each installed on its own; a failed install is reported, not fatal:
# - tomcat10: the demo's identity nodes (and its end-to-end test); without it the
#   demo falls back to builtin nodes;
# - ansible, python3-bs4: tests/integration/test_ansible.py runs the real
#   apache2_mod_proxy module against the manager; without them it is skipped.
OPTIONAL=(tomcat10 ansible python3-bs4)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

missing() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t need < <(missing "${PKGS[@]}")
mapfile -t want < <(missing "${OPTIONAL[@]}")
if [ ${#need[@]} -eq 0 ] && [ ${#want[@]} -eq 0 ]; then
  echo "deps.sh: all packages present"
else
  $SUDO apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "deps.sh: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
for p in "${want[@]}"; do
  echo "deps.sh: installing $p"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$p" ||
    echo "deps.sh: could not install $p (optional: see OPTIONAL above)" >&2
done

# apt-get does not upgrade a library that is already installed when the package
# being installed is satisfied by the old version. Debian's security archive can
# ship an apache2 built against a newer OpenSSL than the image's libssl3; mod_ssl
# then warns at every start (AH01882). Bring every library apache2-bin depends on,
# and the openssl tool, to the candidate version whenever it is older, on every run.
mapfile -t stale < <(bash "$(dirname "$0")/stale-libs.sh")
if [ ${#stale[@]} -gt 0 ]; then
  echo "deps.sh: upgrading ${stale[*]} to the versions apache2 was built against"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends --only-upgrade "${stale[@]}"
  mapfile -t still < <(bash "$(dirname "$0")/stale-libs.sh")
  if [ ${#still[@]} -gt 0 ]; then
    echo "deps.sh: still older than their candidates: ${still[*]}" >&2
    exit 1
  fi
fi

# The browser test drives chromium with playwright-core from npm (Node.js 20 or
# later). The lock file pins it; nothing is downloaded but that package.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "deps.sh: installing nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if [ ! -d "$browser_dir/node_modules/playwright-core" ]; then
  echo "deps.sh: npm ci in tests/browser"
  (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

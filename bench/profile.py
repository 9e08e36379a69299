#!/usr/bin/python3
"""Where the instructions of a proxied request go: callgrind profiles of direct,
stock and mod_isbalancer, with the same configuration as bench/instructions.py.

Each front is httpd -X under callgrind serving N keep-alive requests of one kind;
the profiles are kept in OUT (default build-release/profile/) for
callgrind_annotate or kcachegrind, and the functions with the most inclusive
instructions per request from the balancer modules (and mod_proxy) are printed.

  ISB_MODULE=... bench/profile.py [--mode "no cookie"|"JSESSIONID cookie"|";jsessionid= path"]
                   [--requests N] [--out DIR]
"""
import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The Release module that bench/run.sh builds, unless ISB_MODULE names another.
os.environ.setdefault("ISB_MODULE", str(ROOT / "build-release" / "mod_isbalancer.so"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import instructions  # noqa: E402  (its callgrind runs and request kinds)
from harness import Backend  # noqa: E402


def top(out, n, pattern):
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
                          capture_output=True, text=True, timeout=120).stdout
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)", line)
        if m and re.search(pattern, m.group(2)):
            rows.append((int(m.group(1).replace(",", "")), m.group(2)))
    return rows[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", default="no cookie", choices=list(instructions.MODES))
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--out", type=Path, default=ROOT / "build-release" / "profile")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    backends = [Backend("a", "n1").start(), Backend("b", "n2").start()]
    try:
        for front in ("direct", "stock", "isb"):
            if front == "direct" and args.mode != "no cookie":
                continue
            out = args.out / f"callgrind.{front}.{args.mode.replace(' ', '_').strip(';')}"
            instructions.callgrind_run(front, [b.url for b in backends], args.mode, args.requests,
                                       out)
            print(f"== {front} ({args.mode}, {args.requests} requests): {out}")
            pattern = (r"mod_isbalancer|isb::" if front == "isb" else
                       r"mod_proxy_balancer|mod_lbmethod|ap_proxy_balancer|find_best|"
                       r"balancer") if front != "direct" else r"proxy_handler|ap_proxy"
            for count, name in top(out, args.top, pattern):
                print(f"{count / args.requests:12,.0f}  {name}")
    finally:
        for b in backends:
            b.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

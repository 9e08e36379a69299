#!/usr/bin/python3
"""CPU instructions per proxied request, for three fronts in one run.

  direct   a plain ProxyPass to one member (the floor for any balancer in httpd)
  stock    mod_proxy_balancer with mod_lbmethod_byrequests
  isb      mod_isbalancer

Each front is a single-process httpd (-X) under valgrind --tool=callgrind, with a
keep-alive client at concurrency 1 sending N1 and then, in a second run, N2
requests; (total2 - total1) / (N2 - N1) cancels start-up and shutdown. Requests
carry no cookie, a sticky JSESSIONID cookie, or a ;jsessionid= path parameter.
Instruction counts do not depend on machine load, so one run is enough.

  bench/instructions.py [--quick] [--json FILE]
"""
import argparse
import http.client
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import MODDIR, MODULE, RUN_USER, Backend, free_port, port_open, wait_for  # noqa: E402

MODES = {
    "no cookie": ("/app/page", {}),
    "JSESSIONID cookie": ("/app/page", {"Cookie": "a=1; JSESSIONID=ABCDEF0123456789.n1; b=2"}),
    ";jsessionid= path": ("/app/page;jsessionid=ABCDEF0123456789.n1", {}),
}


def front_config(root, port, front, module, lbmethods, body):
    """The httpd configuration of one front on 127.0.0.1:port ("direct", "stock" with
    mod_proxy_balancer and the lbmethod modules named, or "isb" with `module`), with
    `body` (tuning and proxy lines) after the modules. bench/suite.py uses it too."""
    loads = [f"LoadModule mpm_event_module {MODDIR}/mod_mpm_event.so"]
    if front == "isb":
        loads.append(f"LoadModule isbalancer_module {module}")
    mods = ["authz_core", "proxy", "proxy_http"]
    if front == "stock":
        mods += ["slotmem_shm", "proxy_balancer"] + [f"lbmethod_{m}" for m in lbmethods]
    loads += [f"LoadModule {m}_module {MODDIR}/mod_{m}.so" for m in mods]
    return f"""ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/httpd.pid"
DefaultRuntimeDir "{root}"
ErrorLog "{root}/error.log"
LogLevel warn
User {RUN_USER}
Group {RUN_USER}
{chr(10).join(loads)}
{body}
"""


def config(root, port, front, members):
    if front == "direct":
        proxy = f'ProxyPass "/" "{members[0]}/"'
    else:
        proxy = ('<Proxy "balancer://c">\n' +
                 "\n".join(f'    BalancerMember "{m}" route=n{i + 1}' for i, m in enumerate(members)) +
                 '\n    ProxySet stickysession=JSESSIONID|jsessionid\n</Proxy>\n'
                 'ProxyPass "/" "balancer://c/"')
    return front_config(root, port, front, MODULE, ["byrequests"],
                        f"KeepAliveTimeout 30\nMaxKeepAliveRequests 0\n{proxy}")


def callgrind_run(front, members, mode, n, out):
    """One httpd -X run under callgrind serving n keep-alive requests of `mode`; the
    profile goes to `out` (bench/profile.py keeps it, instructions() reads its total)."""
    root = Path(tempfile.mkdtemp(prefix="isb-bench-"))
    try:
        os.chmod(root, 0o777)  # the child writes its profile after dropping root
        port = free_port()
        (root / "httpd.conf").write_text(config(root, port, front, members))
        out.touch()
        os.chmod(out, 0o666)  # likewise; touch() would apply the umask
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "/usr/sbin/apache2",
             "-X", "-d", str(root), "-f", str(root / "httpd.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(lambda: port_open(port), timeout=120, what=f"{front} under valgrind")
            path, headers = MODES[mode]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for _ in range(n):
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"{front} {mode}: status {resp.status}")
            conn.close()
        finally:
            proc.terminate()
            proc.wait(timeout=120)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def instructions(front, members, mode, n):
    """Total instructions of one httpd -X run serving n requests."""
    work = Path(tempfile.mkdtemp(prefix="isb-bench-out-"))
    try:
        os.chmod(work, 0o777)  # httpd's child writes the profile after dropping root
        out = work / "callgrind.out"
        callgrind_run(front, members, mode, n, out)
        m = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
        if not m:
            raise RuntimeError(f"no callgrind totals for {front} {mode}")
        return int(m.group(1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few requests, no-cookie mode only")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    n1, n2 = (20, 120) if args.quick else (100, 600)
    modes = ["no cookie"] if args.quick else list(MODES)
    backends = [Backend("a", "n1").start(), Backend("b", "n2").start()]
    members = [b.url for b in backends]
    results = {}
    try:
        for mode in modes:
            # direct serves the same request (cookie or path parameter included) with
            # no balancer: the floor each row's overhead is measured from.
            for front in ("direct", "stock", "isb"):
                total1 = instructions(front, members, mode, n1)
                total2 = instructions(front, members, mode, n2)
                results.setdefault(mode, {})[front] = (total2 - total1) / (n2 - n1)
    finally:
        for b in backends:
            b.stop()

    print(f"instructions per proxied request (callgrind, httpd -X, keep-alive, "
          f"({n2} - {n1} requests), 2 http members)")
    print(f"{'mode':<20}{'direct':>10}{'stock':>10}{'isb':>10}{'isb/stock':>11}"
          f"{'overhead isb/stock':>20}")
    rows = []
    for mode, r in results.items():
        ratio = r["isb"] / r["stock"]
        over = (r["isb"] - r["direct"]) / (r["stock"] - r["direct"])
        rows.append({"mode": mode, "direct": r["direct"], "stock": r["stock"], "isb": r["isb"],
                     "isb_over_stock": ratio, "overhead_ratio": over})
        print(f"{mode:<20}{r['direct']:10.0f}{r['stock']:10.0f}{r['isb']:10.0f}{ratio:11.3f}"
              f"{over:20.3f}")
    print("overhead = instructions above direct's for the same request")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "benchmark": "instructions-per-request", "requests": [n1, n2],
            "machine": {"cpu": platform.processor() or platform.machine(),
                        "kernel": platform.release(), "cores": os.cpu_count()},
            "httpd": subprocess.run(["/usr/sbin/apache2", "-v"], capture_output=True,
                                    text=True).stdout.splitlines()[0],
            "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

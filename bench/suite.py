#!/usr/bin/python3
"""Side-by-side benchmarks: direct, stock and mod_isbalancer in one run.

Run it through bench/run.sh, which builds the module (and the microbenchmarks) in
Release mode first:

  bash bench/run.sh            full run: figures in bench/results/ (JSON, PNG, Markdown)
  bash bench/run.sh --quick    seconds, for CI: results in build-release/bench-quick/

The same real backends (bench/backend.py, one process each) serve every front.
Three fronts run side by side, each its own httpd (event MPM, two children of 128
threads) from a generated configuration in a temporary ServerRoot:

  direct   a plain ProxyPass to one backend: the floor for any balancer
  stock    mod_proxy_balancer + mod_lbmethod_* (Debian's modules)
  isb      mod_isbalancer

and measures, in this order:
  1. instructions per proxied request (bench/instructions.py, callgrind);
  2. throughput and latency under wrk at several concurrencies, the contenders
     interleaved and repeated: medians and ratios;
  3. fairness: weights 1:2:5 at high concurrency, each member's share against
     its ideal, then the same after a burst of sticky requests;
  4. a slow member (one of three answers DELAY ms later) under new-session traffic
     at a fixed offered rate (bench/loadgen.py), one row per front and lbmethod;
  5. failover: a member killed under fixed-rate load, then started again;
  6. a failing member: one of three answers 503 to every second request for a while
     under fixed-rate load; stock's failonstatus against isb's outlier ejection, one
     row per configuration (FAILING_ROWS);
  7. microbenchmarks of the core (bench/micro, Google Benchmark).

`--only failing_member` runs section 6 alone (results: failing_member.{json,md} and
its chart in the results directory).

Benchmarks measure: nothing here fails on a figure. Only a broken setup (a front
that does not start, a tool that is missing) stops the run.
"""
import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
from harness import free_port, port_open, terminate, wait_for  # noqa: E402
import instructions  # noqa: E402  (front_config)
import loadgen  # noqa: E402

PYTHON = "/usr/bin/python3"
HTTPD = os.environ.get("ISB_HTTPD", "/usr/sbin/apache2")
CONTENDERS = ["direct", "stock", "isb"]
BALANCERS = ["stock", "isb"]
# The slow-member rows: (front, lbmethod). A new lbmethod is one more row here.
SLOW_ROWS = [
    ("stock", "byrequests"),
    ("stock", "bybusyness"),
    ("isb", "byrequests"),
    ("isb", "bybusyness"),
    ("isb", "bytraffic"),
    ("isb", "leastrequest"),
    ("isb", "bylatency"),
]
# The failing-member rows, each its own balancer (/fm_NAME/) on its front, so that
# they differ in settings but share the three backends. retry is every member's;
# "set" goes on ProxySet, "isb" is added inside the <Proxy> as is; "fail" is how the
# member fails (bench/backend.py's /__fail/): 503/50 is every second answer.
FAILING_ROWS = [
    dict(name="stock_retry60", front="stock", retry=60, set="failonstatus=500,503", isb="",
         label="stock, failonstatus=500,503, retry=60 (stock's default retry)"),
    dict(name="stock_retry5", front="stock", retry=5, set="failonstatus=500,503", isb="",
         label="stock, failonstatus=500,503, retry=5"),
    dict(name="isb_failonstatus", front="isb", retry=5, set="failonstatus=500,503", isb="",
         label="isb configured like stock: failonstatus=500,503, retry=5"),
    dict(name="isb_eject3", front="isb", retry=60, set="",
         isb="ISBalancerSet eject5xx=3 ejecttime=5 ejectpercent=50",
         label="isb, eject5xx=3 ejecttime=5 ejectpercent=50, no failonstatus"),
    dict(name="isb_eject1", front="isb", retry=60, set="",
         isb="ISBalancerSet eject5xx=1 ejecttime=5 ejectpercent=50",
         label="isb, eject5xx=1 ejecttime=5 ejectpercent=50, no failonstatus"),
    # Consecutive 5xx never reach 3 when every second answer fails: the same
    # configuration with the member failing half its answers at random instead.
    dict(name="isb_eject3_random", front="isb", retry=60, set="",
         isb="ISBalancerSet eject5xx=3 ejecttime=5 ejectpercent=50", fail="503/50/random",
         label="isb, eject5xx=3 ejecttime=5 ejectpercent=50; the member fails 50 % at random"),
    # The failure-rate rule: what catches a member failing every second answer.
    dict(name="isb_failrate", front="isb", retry=60, set="",
         isb="ISBalancerSet ejectfailpercent=40 ejectminrequests=20 ejecttime=5 ejectpercent=50",
         label="isb, ejectfailpercent=40 ejectminrequests=20 ejecttime=5 ejectpercent=50"),
]
FAIR_WEIGHTS = [1, 2, 5]
STICKY = "JSESSIONID|jsessionid"

FULL = dict(concurrencies=[8, 32, 128], wrk_seconds=4, reps=5, fair_seconds=6, fair_conns=128,
            burst=2000, slow_rate=300, slow_seconds=8, slow_reps=3, slow_delay_ms=20,
            slow_warmup=1.0, fo_rate=300, fo_kill=2.0, fo_back=5.0, fo_end=9.0, fo_reps=2,
            fm_rate=200, fm_fail=5.0, fm_heal=15.0, fm_end=25.0, fm_bucket=1.0,
            micro_min_time=0.2)
QUICK = dict(concurrencies=[16], wrk_seconds=1, reps=1, fair_seconds=1, fair_conns=64,
             burst=200, slow_rate=200, slow_seconds=1.5, slow_reps=1, slow_delay_ms=20, slow_warmup=0.5,
             fo_rate=200, fo_kill=0.5, fo_back=1.5, fo_end=3.5, fo_reps=1,
             fm_rate=200, fm_fail=1.0, fm_heal=3.0, fm_end=4.5, fm_bucket=0.25,
             micro_min_time=0.01)


def log(msg):
    print(msg, flush=True)


# --- backends -------------------------------------------------------------------

class Backend:
    """bench/backend.py in its own process; stop() kills it like a crashed node."""

    def __init__(self, name, delay_ms=0.0):
        self.name, self.delay_ms = name, delay_ms
        self.port = free_port()
        self.proc = None
        self.started = False

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        # free_port() only suggests a port: another process on the machine may take
        # it before the backend binds. Before the first start, take another one
        # (bounded); a restart must keep its port, since the fronts point at it.
        for attempt in range(5):
            self.proc = subprocess.Popen(
                [PYTHON, str(ROOT / "bench" / "backend.py"), "--port", str(self.port), "--name",
                 self.name, "--delay-ms", str(self.delay_ms)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline()
            if line.startswith("ready"):
                break
            err = self.proc.stderr.read()
            self.proc.wait(timeout=10)
            if self.started or "address already in use" not in err or attempt == 4:
                raise RuntimeError(f"backend {self.name} failed: {err}")
            self.port = free_port()
        self.started = True
        wait_for(lambda: port_open(self.port), what=f"backend {self.name}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def get(self, path):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"backend {self.name} {path}: {r.status}")
            return body
        finally:
            c.close()

    def count(self):
        return int(self.get("/__count"))

    def fail(self, spec):
        """"503/50": every second answer is a 503 from now on; "0": none."""
        self.get(f"/__fail/{spec}")


# --- fronts ---------------------------------------------------------------------

def balancer(name, members, lbmethod="byrequests", retry=1, proxyset="", extra=""):
    """members: [(backend, loadfactor, route)]. retry=1 unless told: a member that
    failed once under load is retried after a second, not after stock's 60.
    `proxyset` is added to the ProxySet line, `extra` lines inside the <Proxy>."""
    lines = [f'<Proxy "balancer://{name}">']
    for b, lf, route in members:
        lines.append(f'    BalancerMember "{b.url}" loadfactor={lf} route={route} retry={retry}')
    lines.append(f"    ProxySet lbmethod={lbmethod} stickysession={STICKY}" +
                 (f" {proxyset}" if proxyset else ""))
    if extra:
        lines.append(f"    {extra}")
    lines.append("</Proxy>")
    lines.append(f'ProxyPass "/{name}/" "balancer://{name}/"')
    return "\n".join(lines)


def front_config(root, port, kind, module, groups):
    t = groups["t"]
    if kind == "direct":
        proxy = f'ProxyPass "/t/" "{t[0].url}/"'
    else:
        parts = [balancer("t", [(b, 1, f"t{i + 1}") for i, b in enumerate(t)]),
                 balancer("fair", [(b, w, f"n{i + 1}")
                                   for i, (b, w) in enumerate(zip(groups["fair"], FAIR_WEIGHTS))]),
                 balancer("fo", [(b, 1, f"f{i + 1}") for i, b in enumerate(groups["fo"])])]
        for method in sorted({m for k, m in SLOW_ROWS if k == kind}):
            parts.append(balancer(f"slow_{method}",
                                  [(b, 1, f"s{i + 1}") for i, b in enumerate(groups["slow"])],
                                  method))
        for row in FAILING_ROWS:
            if row["front"] == kind:
                parts.append(balancer(f"fm_{row['name']}",
                                      [(b, 1, f"e{i + 1}") for i, b in enumerate(groups["fm"])],
                                      retry=row["retry"], proxyset=row["set"], extra=row["isb"]))
        proxy = "\n".join(parts)
    methods = sorted({"byrequests"} | {m for k, m in SLOW_ROWS if k == "stock"})
    return instructions.front_config(root, port, kind, module, methods, f"""StartServers 2
ServerLimit 2
ThreadLimit 128
ThreadsPerChild 128
MaxRequestWorkers 256
MinSpareThreads 2
MaxSpareThreads 256
MaxConnectionsPerChild 0
KeepAliveTimeout 30
MaxKeepAliveRequests 0
Timeout 30
{proxy}""")


class Front:
    def __init__(self, kind, module, groups):
        self.kind = kind
        self.root = Path(tempfile.mkdtemp(prefix=f"isb-bench-{kind}-"))
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.conf = self.root / "httpd.conf"
        self.conf.write_text(front_config(self.root, self.port, kind, module, groups))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [HTTPD, "-d", str(self.root), "-f", str(self.conf), "-DFOREGROUND"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        wait_for(lambda: self.proc.poll() is not None or
                 ((self.root / "httpd.pid").exists() and port_open(self.port)),
                 timeout=20, what=f"{self.kind} front")
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.kind} front failed: {self.proc.stderr.read()}\n"
                               f"{self.log_text()}")
        time.sleep(1.0)  # both children up before the first measurement
        return self

    def pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [self.proc.pid] + [int(x) for x in out.split()]

    def cpu_seconds(self):
        """User + system CPU time of the parent and its children so far. Unlike
        req/s, this hardly moves when other work shares the machine."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return total / os.sysconf("SC_CLK_TCK")

    def children(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return len(out.split())

    def log_text(self):
        p = self.root / "error.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            terminate(self.proc)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# --- measurements -----------------------------------------------------------------

def wrk(port, path, conns, seconds, cookie="", front=None):
    env = dict(os.environ, ISB_BENCH_COOKIE=cookie)
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s",
           str(ROOT / "bench" / "wrk_report.lua"), f"http://127.0.0.1:{port}{path}"]
    cpu0 = front.cpu_seconds() if front else None
    out = subprocess.run(cmd, capture_output=True, text=True, env=env,
                         timeout=seconds + 60).stdout
    cpu1 = front.cpu_seconds() if front else None
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            r = json.loads(line[8:])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            r["error_count"] = sum(r["errors"].values())
            if front and r["requests"]:
                r["cpu_us_per_request"] = (cpu1 - cpu0) * 1e6 / r["requests"]
            return r
    raise RuntimeError(f"wrk gave no result:\n{out}")


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def bench_throughput(fronts, p):
    """Interleaved: each repetition visits every concurrency and, within it, every
    contender, starting with a different contender each time."""
    raw = {k: {c: [] for c in p["concurrencies"]} for k in CONTENDERS}
    for rep in range(p["reps"]):
        order = CONTENDERS[rep % 3:] + CONTENDERS[:rep % 3]
        for c in p["concurrencies"]:
            for kind in order:
                r = wrk(fronts[kind].port, "/t/page", c, p["wrk_seconds"], front=fronts[kind])
                raw[kind][c].append(r)
                log(f"  rep {rep + 1} c={c:<4} {kind:<7} {r['rps']:9.0f} req/s  "
                    f"{r['cpu_us_per_request']:6.1f} µs CPU/req  "
                    f"p50 {r['latency_us']['p50'] / 1000:6.2f} ms  p99 "
                    f"{r['latency_us']['p99'] / 1000:6.2f} ms  errors {r['error_count']}")
    rows = []
    for c in p["concurrencies"]:
        row = {"concurrency": c}
        for kind in CONTENDERS:
            runs = raw[kind][c]
            row[kind] = {
                "rps": med([r["rps"] for r in runs]),
                "p50_ms": med([r["latency_us"]["p50"] / 1000 for r in runs]),
                "p90_ms": med([r["latency_us"]["p90"] / 1000 for r in runs]),
                "p99_ms": med([r["latency_us"]["p99"] / 1000 for r in runs]),
                "errors": sum(r["error_count"] for r in runs),
                "cpu_us_per_request": med([r["cpu_us_per_request"] for r in runs]),
                "runs_rps": [round(r["rps"], 1) for r in runs],
            }
        # Ratio of each repetition's paired runs, then the median: less noisy than
        # a ratio of medians when the machine's load drifts between repetitions.
        row["isb_over_stock_rps"] = med([a["rps"] / b["rps"] for a, b in
                                         zip(raw["isb"][c], raw["stock"][c])])
        row["stock_over_direct_rps"] = med([a["rps"] / b["rps"] for a, b in
                                            zip(raw["stock"][c], raw["direct"][c])])
        row["isb_over_direct_rps"] = med([a["rps"] / b["rps"] for a, b in
                                          zip(raw["isb"][c], raw["direct"][c])])
        # Time per request above direct's (µs, from req/s): the balancer's overhead
        # as throughput sees it.
        ov = {}
        for kind in BALANCERS:
            ov[kind] = med([1e6 / a["rps"] - 1e6 / d["rps"]
                            for a, d in zip(raw[kind][c], raw["direct"][c])])
        row["overhead_us"] = ov
        # httpd's own CPU time per request (all its processes), robust to other load.
        row["isb_over_stock_cpu"] = med([a["cpu_us_per_request"] / b["cpu_us_per_request"]
                                         for a, b in zip(raw["isb"][c], raw["stock"][c])])
        cpu_ov = {}
        for kind in BALANCERS:
            cpu_ov[kind] = med([a["cpu_us_per_request"] - d["cpu_us_per_request"]
                                for a, d in zip(raw[kind][c], raw["direct"][c])])
        row["cpu_overhead_us"] = cpu_ov
        row["cpu_overhead_isb_over_stock"] = (cpu_ov["isb"] / cpu_ov["stock"]
                                              if cpu_ov["stock"] > 0 else None)
        rows.append(row)
    return {"path": "/t/ (3 members, equal weights, sticky balancer, no cookie)",
            "wrk": f"wrk -t2 -cC -d{p['wrk_seconds']}s", "repetitions": p["reps"], "rows": rows}


def shares(counts):
    total = sum(counts)
    return [100.0 * c / total if total else 0.0 for c in counts], total


def sticky_burst(port, n, cookie):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ok = 0
    try:
        for _ in range(n):
            c.request("GET", "/fair/page", headers={"Cookie": cookie})
            r = c.getresponse()
            r.read()
            ok += r.status == 200
    finally:
        c.close()
    return ok


def bench_fairness(fronts, backends, p):
    ideal = [100.0 * w / sum(FAIR_WEIGHTS) for w in FAIR_WEIGHTS]
    out = {"weights": FAIR_WEIGHTS, "ideal_pct": ideal, "connections": p["fair_conns"],
           "seconds": p["fair_seconds"], "burst_requests": p["burst"],
           "burst_route": "n1 (weight 1)"}
    for kind in BALANCERS:
        port = fronts[kind].port
        c0 = [b.count() for b in backends]
        r = wrk(port, "/fair/page", p["fair_conns"], p["fair_seconds"])
        c1 = [b.count() for b in backends]
        plain, total = shares([b - a for a, b in zip(c0, c1)])
        ok = sticky_burst(port, p["burst"], "JSESSIONID=BURST0123456789.n1")
        c2 = [b.count() for b in backends]
        r2 = wrk(port, "/fair/page", p["fair_conns"], p["fair_seconds"])
        c3 = [b.count() for b in backends]
        after, total_after = shares([b - a for a, b in zip(c2, c3)])
        combined, total_comb = shares([b - a for a, b in zip(c1, c3)])
        out[kind] = {
            "shares_pct": plain, "requests": total, "errors": r["error_count"],
            "max_dev_pp": max(abs(s - i) for s, i in zip(plain, ideal)),
            "burst_ok": ok,
            "after_burst_new_sessions_pct": after, "after_burst_requests": total_after,
            "after_burst_with_burst_pct": combined,
            "after_burst_max_dev_pp": max(abs(s - i) for s, i in zip(after, ideal)),
            "with_burst_max_dev_pp": max(abs(s - i) for s, i in zip(combined, ideal)),
            "errors_after": r2["error_count"],
        }
        log(f"  {kind:<6} shares {' '.join(f'{s:5.2f}%' for s in plain)} "
            f"(ideal {' '.join(f'{s:5.2f}%' for s in ideal)}), max dev "
            f"{out[kind]['max_dev_pp']:.2f} pp; after a burst of {ok} sticky to n1: new "
            f"{' '.join(f'{s:5.2f}%' for s in after)}, with burst "
            f"{' '.join(f'{s:5.2f}%' for s in combined)}")
    return out


def summarize_load(results, duration):
    lat = [r.latency * 1000 for r in results if r.status == 200]
    return {"offered": len(results), "ok": len(lat),
            "failed": sum(1 for r in results if r.status != 200),
            "throughput_rps": len(lat) / duration if duration else 0.0,
            "p50_ms": loadgen.percentile(lat, 50), "p90_ms": loadgen.percentile(lat, 90),
            "p99_ms": loadgen.percentile(lat, 99)}


def bench_slow(fronts, slow_backends, p):
    raw = {row: [] for row in SLOW_ROWS}
    slow_name = slow_backends[-1].name
    for rep in range(p["slow_reps"]):
        k = rep % len(SLOW_ROWS)
        for kind, method in SLOW_ROWS[k:] + SLOW_ROWS[:k]:
            if rep == 0:
                # Unmeasured, the same for every row: fills the connection pools, and
                # gives a method that learns from answers its first ones.
                asyncio.run(loadgen.run(fronts[kind].port, f"/slow_{method}/page",
                                        p["slow_rate"], p["slow_warmup"]))
            results, _ = asyncio.run(loadgen.run(fronts[kind].port, f"/slow_{method}/page",
                                                 p["slow_rate"], p["slow_seconds"]))
            s = summarize_load(results, p["slow_seconds"])
            s["slow_share_pct"] = 100.0 * sum(1 for r in results if r.backend == slow_name) / max(
                1, s["ok"])
            raw[(kind, method)].append(s)
            log(f"  rep {rep + 1} {kind:<6} {method:<11} p50 {s['p50_ms']:7.2f} ms  p99 "
                f"{s['p99_ms']:7.2f} ms  {s['throughput_rps']:6.1f} req/s  slow member "
                f"{s['slow_share_pct']:5.1f}%  failed {s['failed']}")
    rows = []
    for kind, method in SLOW_ROWS:
        runs = raw[(kind, method)]
        rows.append({"front": kind, "lbmethod": method,
                     "p50_ms": med([r["p50_ms"] for r in runs]),
                     "p90_ms": med([r["p90_ms"] for r in runs]),
                     "p99_ms": med([r["p99_ms"] for r in runs]),
                     "throughput_rps": med([r["throughput_rps"] for r in runs]),
                     "slow_share_pct": med([r["slow_share_pct"] for r in runs]),
                     "failed": sum(r["failed"] for r in runs)})
    return {"members": 3, "slow_member_delay_ms": p["slow_delay_ms"],
            "offered_rps": p["slow_rate"], "seconds": p["slow_seconds"],
            "warmup_seconds": p["slow_warmup"],
            "repetitions": p["slow_reps"],
            "client": "bench/loadgen.py: open loop, latency from each request's due time",
            "rows": rows}


def bench_failover(fronts, fo_backends, p):
    victim = fo_backends[-1]
    out = {"rate_rps": p["fo_rate"], "kill_at_s": p["fo_kill"], "back_at_s": p["fo_back"],
           "end_s": p["fo_end"], "retry_s": 1, "victim": victim.name, "repetitions": p["fo_reps"]}
    raw = {k: [] for k in BALANCERS}
    for rep in range(p["fo_reps"]):
        for kind in (BALANCERS if rep % 2 == 0 else BALANCERS[::-1]):
            marks = {}

            async def kill():
                marks["kill"] = asyncio.get_running_loop().time()
                victim.stop()

            async def back():
                await asyncio.get_running_loop().run_in_executor(None, victim.start)
                marks["back"] = asyncio.get_running_loop().time()  # listening again

            results, t0 = asyncio.run(loadgen.run(
                fronts[kind].port, "/fo/page", p["fo_rate"], p["fo_end"],
                events=[(p["fo_kill"], kill), (p["fo_back"], back)]))
            if victim.proc is None:
                victim.start()
            kill_t, back_t = marks["kill"] - t0, marks["back"] - t0

            def done(r):
                return r.due + r.latency

            down = [r for r in results if kill_t <= done(r) < back_t]
            up = [r for r in results if done(r) >= back_t]
            fails_down = [r for r in down if r.status != 200]
            fails_up = [r for r in up if r.status != 200]
            first_back = next((done(r) for r in sorted(up, key=done)
                               if r.status == 200 and r.backend == victim.name), None)
            tail = [r for r in up if done(r) >= back_t + (p["fo_end"] - back_t) / 2]
            s = {
                "failed_while_down": len(fails_down),
                "requests_while_down": len(down),
                "error_window_s": (max(done(r) for r in fails_down) - kill_t) if fails_down
                else 0.0,
                "failed_after_back": len(fails_up),
                "recovery_s": (first_back - back_t) if first_back is not None else None,
                "victim_share_last_half_pct": 100.0 * sum(
                    1 for r in tail if r.backend == victim.name) / max(1, len(tail)),
                "p99_ms_while_down": loadgen.percentile(
                    [r.latency * 1000 for r in down if r.status == 200], 99),
                "failed_total": sum(1 for r in results if r.status != 200),
                "requests": len(results),
            }
            raw[kind].append(s)
            log(f"  rep {rep + 1} {kind:<6} down: {s['failed_while_down']} failed of "
                f"{s['requests_while_down']}, errors for {s['error_window_s']:.3f} s; back: "
                f"{s['failed_after_back']} failed, first request to it after "
                f"{s['recovery_s'] if s['recovery_s'] is None else round(s['recovery_s'], 3)} s")
    for kind in BALANCERS:
        runs = raw[kind]
        out[kind] = {
            "failed_while_down": med([r["failed_while_down"] for r in runs]),
            "error_window_s": med([r["error_window_s"] for r in runs]),
            "failed_after_back": med([r["failed_after_back"] for r in runs]),
            "recovery_s": med([r["recovery_s"] for r in runs]),
            "victim_share_last_half_pct": med([r["victim_share_last_half_pct"] for r in runs]),
            "p99_ms_while_down": med([r["p99_ms_while_down"] for r in runs]),
            "runs": runs,
        }
    return out


def bench_failing_member(fronts, fm_backends, p):
    """One of three members answers 503 to every second request from fm_fail s to
    fm_heal s of a fixed-rate run; one run per FAILING_ROWS row, one after another,
    against the same three backends (reset to healthy before each)."""
    victim = fm_backends[-1]
    rate, bucket = p["fm_rate"], p["fm_bucket"]
    fair = 100.0 / len(fm_backends)
    out = {"members": len(fm_backends), "victim": victim.name, "rate_rps": rate,
           "fail_at_s": p["fm_fail"], "heal_at_s": p["fm_heal"], "end_s": p["fm_end"],
           "failing": "503 on every second request (50 %), unless the row's fail says "
                      "otherwise (bench/backend.py /__fail/)", "bucket_s": bucket,
           "back_to_share": f"the first {bucket} s bucket after the window whose share of "
                            f"answers from the member is >= 3/4 of {fair:.1f} %",
           "repetitions": 1, "rows": []}
    for row in FAILING_ROWS:
        for b in fm_backends:
            b.fail("0")
        marks = {}

        def switch(spec, mark):
            async def fn():
                await asyncio.get_running_loop().run_in_executor(None, victim.fail, spec)
                marks[mark] = asyncio.get_running_loop().time()
            return fn

        results, t0 = asyncio.run(loadgen.run(
            fronts[row["front"]].port, f"/fm_{row['name']}/page", rate, p["fm_end"],
            events=[(p["fm_fail"], switch(row.get("fail", "503/50"), "fail")),
                    (p["fm_heal"], switch("0", "heal"))]))
        victim.fail("0")
        fail_t, heal_t = marks["fail"] - t0, marks["heal"] - t0

        def done(r):
            return r.due + r.latency

        def bad(r):
            return not 200 <= r.status < 300

        window = [r for r in results if fail_t <= done(r) < heal_t]
        before = [r for r in results if done(r) < fail_t]
        after = [r for r in results if done(r) >= heal_t]

        def share(rs):
            return 100.0 * sum(1 for r in rs if r.backend == victim.name) / len(rs) if rs else None

        back_s = None
        k = 0
        while heal_t + k * bucket < p["fm_end"] + 1.0 and k < 10000:
            rs = [r for r in after if heal_t + k * bucket <= done(r) < heal_t + (k + 1) * bucket]
            if len(rs) >= 4 and share(rs) >= 0.75 * fair:
                back_s = k * bucket
                break
            k += 1
        first_back = next((done(r) - heal_t for r in sorted(after, key=done)
                           if r.backend == victim.name and not bad(r)), None)
        n_buckets = int(round(p["fm_end"] / bucket))
        per_bucket = [0] * n_buckets
        for r in results:
            if bad(r):
                per_bucket[min(n_buckets - 1, max(0, int(r.due / bucket)))] += 1
        s = {
            "name": row["name"], "front": row["front"], "label": row["label"],
            "config": {"retry": row["retry"], "proxyset": row["set"], "isb": row["isb"]},
            "fail": row.get("fail", "503/50"),
            "requests": len(results), "requests_in_window": len(window),
            "failed_in_window": sum(1 for r in window if bad(r)),
            "failed_total": sum(1 for r in results if bad(r)),
            "failed_from_member": sum(1 for r in results if bad(r) and r.backend == victim.name),
            "failed_by_front": sum(1 for r in results if bad(r) and r.backend != victim.name),
            "share_before_pct": share(before), "share_in_window_pct": share(window),
            "share_after_pct": share(after),
            "back_to_share_s": back_s, "first_ok_from_it_after_s": first_back,
            "p99_ms_in_window": loadgen.percentile(
                [r.latency * 1000 for r in window if not bad(r)], 99),
            "failures_per_bucket": per_bucket,
        }
        out["rows"].append(s)
        log(f"  {row['name']:<17} failed {s['failed_in_window']} of {s['requests_in_window']} in "
            f"the window, {s['failed_total']} of {s['requests']} in all; its share before "
            f"{fmt(s['share_before_pct'], '.1f')}%, in the window "
            f"{fmt(s['share_in_window_pct'], '.1f')}%, after {fmt(s['share_after_pct'], '.1f')}%;"
            f" back to its share after {fmt(back_s, '.2f')} s")
    return out


def bench_micro(build_dir, p):
    exe = Path(build_dir) / "bench" / "micro" / "isb_micro"
    out = subprocess.run([str(exe), "--benchmark_format=json",
                          f"--benchmark_min_time={p['micro_min_time']}"],
                         capture_output=True, text=True, timeout=600, check=True).stdout
    data = json.loads(out)
    rows = [{"name": b["name"], "ns": b["cpu_time"] if b["time_unit"] == "ns" else None,
             "iterations": b["iterations"]} for b in data["benchmarks"]]
    for r, b in zip(rows, data["benchmarks"]):
        if r["ns"] is None:
            scale = {"us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
            r["ns"] = b["cpu_time"] * scale
    return {"min_time_s": p["micro_min_time"], "library_build_type":
            data["context"].get("library_build_type"), "rows": rows}


def run_instructions(module, quick, tmp):
    out = Path(tmp) / "instructions.json"
    cmd = [PYTHON, str(ROOT / "bench" / "instructions.py"), "--json", str(out)]
    if quick:
        cmd.append("--quick")
    subprocess.run(cmd, check=True, env=dict(os.environ, ISB_MODULE=str(module)), timeout=1800)
    return json.loads(out.read_text())


# --- report -----------------------------------------------------------------------

def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "httpd": subprocess.run([HTTPD, "-v"], capture_output=True,
                                    text=True).stdout.splitlines()[0],
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True,
                                  text=True).stdout.splitlines()[0].split(" [")[0]}


def targets(res):
    t = {}
    ins = {r["mode"]: r for r in res["instructions"]["rows"]}
    for mode in ("no cookie", "JSESSIONID cookie"):
        if mode in ins:
            t[f"instructions <= stock ({mode})"] = {
                "value": round(ins[mode]["isb_over_stock"], 4), "goal": "<= 1.0",
                "met": ins[mode]["isb_over_stock"] <= 1.0}
    for mode, r in ins.items():
        t[f"overhead over direct <= half of stock's ({mode}, instructions)"] = {
            "value": round(r["overhead_ratio"], 3), "goal": "<= 0.5",
            "met": r["overhead_ratio"] <= 0.5}
    for row in res["throughput"]["rows"]:
        v = row["isb_over_stock_rps"]
        t[f"throughput ratio to stock, c={row['concurrency']}"] = {
            "value": round(v, 3), "goal": ">= 1.0", "met": v >= 1.0}
    dev = res["fairness"]["isb"]["max_dev_pp"]
    t["fairness within 0.5 pp of ideal"] = {"value": round(dev, 3), "goal": "<= 0.5",
                                            "met": dev <= 0.5}
    stock_p99 = next(r["p99_ms"] for r in res["slow_member"]["rows"]
                     if r["front"] == "stock" and r["lbmethod"] == "byrequests")
    best = min((r for r in res["slow_member"]["rows"] if r["front"] == "isb"),
               key=lambda r: r["p99_ms"])
    t["slow member: best isb p99 well below stock byrequests"] = {
        "value": f"{best['lbmethod']} {best['p99_ms']:.2f} ms vs {stock_p99:.2f} ms",
        "goal": "well below (we call it <= half)", "met": best["p99_ms"] <= stock_p99 / 2}
    return t


def fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def failing_text(fm):
    L = [f"failing member: {fm['rate_rps']} req/s through {fm['members']} members, one answers "
         f"503 to every second request from {fm['fail_at_s']} s to {fm['heal_at_s']} s of "
         f"{fm['end_s']} s (or half at random where the row says so); one run per row",
         f"{'row':<18}{'failed in window':>18}{'failed in all':>15}{'its share before':>18}"
         f"{'in window':>11}{'after':>8}{'back to share':>15}"]
    for r in fm["rows"]:
        back = (f"{r['back_to_share_s']:.2f} s" if r["back_to_share_s"] is not None
                else "not in the run")
        L.append(f"{r['name']:<18}{r['failed_in_window']:>8} of {r['requests_in_window']:<6}"
                 f"{r['failed_total']:>8} of {r['requests']:<5}"
                 f"{fmt(r['share_before_pct'], '.1f'):>17}%"
                 f"{fmt(r['share_in_window_pct'], '.1f'):>10}%"
                 f"{fmt(r['share_after_pct'], '.1f'):>7}%{back:>15}")
    for r in fm["rows"]:
        L.append(f"  {r['name']}: {r['label']}")
    return L


def failing_markdown(fm):
    M = [f"A failing member at {fm['rate_rps']} req/s (`bench/loadgen.py`, open loop): one of "
         f"{fm['members']} members answers 503 to every second request from {fm['fail_at_s']} s "
         f"to {fm['heal_at_s']} s of a {fm['end_s']} s run (half its answers at random where the "
         "row says so), one run per row, one after another:",
         "",
         "| row | configuration | failed in the window | failed in all | its share before / "
         "in the window / after | back to its share after the window |",
         "|---|---|---:|---:|---:|---:|"]
    for r in fm["rows"]:
        back = (f"{r['back_to_share_s']:.2f} s" if r["back_to_share_s"] is not None
                else "not within the run")
        M.append(f"| {r['name']} | {r['label']} | {r['failed_in_window']} of "
                 f"{r['requests_in_window']} | {r['failed_total']} of {r['requests']} | "
                 f"{fmt(r['share_before_pct'], '.1f')} / {fmt(r['share_in_window_pct'], '.1f')} / "
                 f"{fmt(r['share_after_pct'], '.1f')} % | {back} |")
    return M


def failing_chart(res, outdir, tmp):
    """Failed requests per second over time, one line per row."""
    fm = res.get("failing_member")
    if not fm or not shutil.which("gnuplot"):
        return []
    dat = Path(tmp) / "failing_member.dat"
    b = fm["bucket_s"]
    with dat.open("w") as f:
        f.write("t " + " ".join(f'"{r["name"]}"' for r in fm["rows"]) + "\n")
        for i in range(len(fm["rows"][0]["failures_per_bucket"])):
            f.write(f"{i * b:.3f} " + " ".join(f'{r["failures_per_bucket"][i] / b:g}'
                                                for r in fm["rows"]) + "\n")
    out = Path(outdir) / "failing_member.png"
    script = (f"set terminal pngcairo noenhanced size 1000,560 font 'DejaVu Sans,10'\n"
              f"set output '{out}'\n"
              f"set title 'A member failing 50 % of requests from {fm['fail_at_s']} s to "
              f"{fm['heal_at_s']} s at {fm['rate_rps']} req/s: failed client requests'\n"
              f"set xlabel 's'\nset ylabel 'failed requests / s'\nset grid\nset key top right\n"
              f"set yrange [0:*]\nset xrange [0:{fm['end_s']}]\n"
              + "".join(f"set arrow from {x}, graph 0 to {x}, graph 1 nohead dt 2\n"
                        for x in (fm["fail_at_s"], fm["heal_at_s"])) +
              f"plot for [i=2:{len(fm['rows']) + 1}] '{dat}' using 1:i with steps lw 2 "
              f"title columnhead\n")
    subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60)
    return [str(out.relative_to(ROOT)) if out.is_relative_to(ROOT) else str(out)]


def report_text(res):
    L = []
    L.append(f"machine: {res['machine']['cpu']}, {res['machine']['cores']} cores, "
             f"{res['machine']['httpd']}; load average start {res['load_average']['start']} "
             f"end {res['load_average']['end']}")
    L.append("")
    L.append("instructions per proxied request (callgrind)")
    L.append(f"{'request':<20}{'direct':>10}{'stock':>10}{'isb':>10}{'isb/stock':>11}"
             f"{'overhead isb/stock':>20}")
    for r in res["instructions"]["rows"]:
        L.append(f"{r['mode']:<20}{fmt(r['direct'], ',.0f'):>10}{r['stock']:>10,.0f}"
                 f"{r['isb']:>10,.0f}{r['isb_over_stock']:>11.3f}{r['overhead_ratio']:>20.3f}")
    L.append("")
    L.append(f"throughput (wrk, median of {res['throughput']['repetitions']}, req/s; "
             "latency p50/p90/p99 ms)")
    L.append(f"{'conc':>5} {'front':<7}{'req/s':>10}{'p50':>8}{'p90':>8}{'p99':>8}"
             f"{'CPU µs/req':>12}{'errors':>8}")
    for row in res["throughput"]["rows"]:
        for kind in CONTENDERS:
            r = row[kind]
            L.append(f"{row['concurrency']:>5} {kind:<7}{r['rps']:>10.0f}{r['p50_ms']:>8.2f}"
                     f"{r['p90_ms']:>8.2f}{r['p99_ms']:>8.2f}{r['cpu_us_per_request']:>12.1f}"
                     f"{r['errors']:>8}")
        L.append(f"{'':>5} req/s isb/stock {row['isb_over_stock_rps']:.3f}, stock/direct "
                 f"{row['stock_over_direct_rps']:.3f}, isb/direct {row['isb_over_direct_rps']:.3f}"
                 f"; httpd CPU/req isb/stock {row['isb_over_stock_cpu']:.3f}, above direct: stock "
                 f"{row['cpu_overhead_us']['stock']:.1f} µs, isb {row['cpu_overhead_us']['isb']:.1f}"
                 f" µs")
    f = res["fairness"]
    L.append("")
    L.append(f"fairness, weights {':'.join(map(str, f['weights']))}, wrk -c{f['connections']} "
             f"(shares %, ideal {' '.join(f'{x:.2f}' for x in f['ideal_pct'])})")
    for kind in BALANCERS:
        r = f[kind]
        L.append(f"  {kind:<6} {' '.join(f'{x:6.2f}' for x in r['shares_pct'])}   max dev "
                 f"{r['max_dev_pp']:.2f} pp ({r['requests']} requests)")
        L.append(f"  {'':<6} after {r['burst_ok']} sticky requests to n1: new sessions "
                 f"{' '.join(f'{x:6.2f}' for x in r['after_burst_new_sessions_pct'])}; "
                 f"with the burst {' '.join(f'{x:6.2f}' for x in r['after_burst_with_burst_pct'])}")
    s = res["slow_member"]
    L.append("")
    L.append(f"slow member (+{s['slow_member_delay_ms']} ms on 1 of 3), {s['offered_rps']} req/s "
             f"offered for {s['seconds']} s, median of {s['repetitions']}")
    L.append(f"{'front':<7}{'lbmethod':<12}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}"
             f"{'req/s':>8}{'to slow':>9}{'failed':>8}")
    for r in s["rows"]:
        L.append(f"{r['front']:<7}{r['lbmethod']:<12}{fmt(r['p50_ms']):>8}{fmt(r['p90_ms']):>8}"
                 f"{fmt(r['p99_ms']):>8}{r['throughput_rps']:>8.1f}{r['slow_share_pct']:>8.1f}%"
                 f"{r['failed']:>8}")
    fo = res["failover"]
    L.append("")
    L.append(f"failover: {fo['rate_rps']} req/s, member killed at {fo['kill_at_s']} s, back at "
             f"{fo['back_at_s']} s, retry={fo['retry_s']}, median of {fo['repetitions']}")
    for kind in BALANCERS:
        r = fo[kind]
        L.append(f"  {kind:<6} failed while down {fmt(r['failed_while_down'], '.0f')}, errors for "
                 f"{fmt(r['error_window_s'], '.3f')} s; after it is back: failed "
                 f"{fmt(r['failed_after_back'], '.0f')}, first request to it after "
                 f"{fmt(r['recovery_s'], '.3f')} s, share in the last half "
                 f"{fmt(r['victim_share_last_half_pct'], '.1f')}%")
    L.append("")
    L += failing_text(res["failing_member"])
    L.append("")
    L.append(f"microbenchmarks (Google Benchmark, CPU ns per operation)")
    for r in res["micro"]["rows"]:
        L.append(f"  {r['name']:<40}{r['ns']:>12.1f}")
    L.append("")
    L.append("targets (where we stand; measured, never enforced)")
    for name, t in res["targets"].items():
        L.append(f"  [{'met' if t['met'] else 'NOT met':>7}] {name}: {t['value']} (goal {t['goal']})")
    return "\n".join(L)


def report_markdown(res):
    """The README's Performance tables, straight from the results."""
    M = []
    m = res["machine"]
    M.append(f"Measured {res['started_at']} on {m['cpu']} ({m['cores']} cores, shared with other "
             f"work: load average {res['load_average']['start'][0]:.2f} at the start, "
             f"{res['load_average']['end'][0]:.2f} at the end), {m['httpd']}, {m['wrk']}, "
             f"commit {res['git_commit']}. Command: `{res['command']}`.")
    M.append("")
    M.append("| request | direct | stock | isb | isb / stock | isb overhead / stock overhead |")
    M.append("|---|---:|---:|---:|---:|---:|")
    for r in res["instructions"]["rows"]:
        M.append(f"| {r['mode']} | {fmt(r['direct'], ',.0f')} | {r['stock']:,.0f} | "
                 f"{r['isb']:,.0f} | {r['isb_over_stock']:.3f} | {r['overhead_ratio']:.3f} |")
    M.append("")
    t = res["throughput"]
    M.append(f"Throughput and latency, `wrk -t2` for {FULL_OR(res, 'wrk_seconds')} s per run, "
             f"medians of {t['repetitions']} interleaved runs:")
    M.append("")
    M.append("| connections | front | req/s | p50 ms | p90 ms | p99 ms | httpd CPU µs / request "
             "| isb / stock req/s | isb / stock CPU |")
    M.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in t["rows"]:
        for kind in CONTENDERS:
            r = row[kind]
            ratio = f"{row['isb_over_stock_rps']:.3f}" if kind == "isb" else ""
            cpu = f"{row['isb_over_stock_cpu']:.3f}" if kind == "isb" else ""
            M.append(f"| {row['concurrency']} | {kind} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                     f"{r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['cpu_us_per_request']:.1f} | "
                     f"{ratio} | {cpu} |")
    f = res["fairness"]
    M.append("")
    M.append(f"Fairness, weights {':'.join(map(str, f['weights']))}, `wrk -c{f['connections']}`, "
             f"two children; then {f['burst_requests']} sticky requests to `n1` and the same "
             "new-session load again:")
    M.append("")
    M.append("| | n1 (1) | n2 (2) | n3 (5) | max deviation |")
    M.append("|---|---:|---:|---:|---:|")
    M.append("| ideal | " + " | ".join(f"{x:.2f} %" for x in f["ideal_pct"]) + " | |")
    for kind in BALANCERS:
        r = f[kind]
        M.append(f"| {kind} | " + " | ".join(f"{x:.2f} %" for x in r["shares_pct"]) +
                 f" | {r['max_dev_pp']:.2f} pp |")
    for kind in BALANCERS:
        r = f[kind]
        M.append(f"| {kind}, new sessions after the burst | " +
                 " | ".join(f"{x:.2f} %" for x in r["after_burst_new_sessions_pct"]) +
                 f" | {r['after_burst_max_dev_pp']:.2f} pp |")
        M.append(f"| {kind}, burst + new sessions | " +
                 " | ".join(f"{x:.2f} %" for x in r["after_burst_with_burst_pct"]) +
                 f" | {r['with_burst_max_dev_pp']:.2f} pp |")
    s = res["slow_member"]
    M.append("")
    M.append(f"A slow member (one of three answers {s['slow_member_delay_ms']} ms later), new "
             f"sessions at a fixed {s['offered_rps']} req/s for {s['seconds']} s "
             f"(`bench/loadgen.py`, open loop), medians of {s['repetitions']}:")
    M.append("")
    M.append("| front | lbmethod | p50 ms | p90 ms | p99 ms | req/s | to the slow member |")
    M.append("|---|---|---:|---:|---:|---:|---:|")
    for r in s["rows"]:
        M.append(f"| {r['front']} | {r['lbmethod']} | {fmt(r['p50_ms'])} | {fmt(r['p90_ms'])} | "
                 f"{fmt(r['p99_ms'])} | {r['throughput_rps']:.1f} | {r['slow_share_pct']:.1f} % |")
    fo = res["failover"]
    M.append("")
    M.append(f"Failover at {fo['rate_rps']} req/s: one of three members killed at "
             f"{fo['kill_at_s']} s and started again at {fo['back_at_s']} s (`retry=1`), "
             f"medians of {fo['repetitions']}:")
    M.append("")
    M.append("| front | failed while down | errors for | failed after it is back | "
             "first request to it after | its share at the end |")
    M.append("|---|---:|---:|---:|---:|---:|")
    for kind in BALANCERS:
        r = fo[kind]
        M.append(f"| {kind} | {fmt(r['failed_while_down'], '.0f')} | "
                 f"{fmt(r['error_window_s'], '.3f')} s | {fmt(r['failed_after_back'], '.0f')} | "
                 f"{fmt(r['recovery_s'], '.3f')} s | "
                 f"{fmt(r['victim_share_last_half_pct'], '.1f')} % |")
    M.append("")
    M += failing_markdown(res["failing_member"])
    M.append("")
    M.append("Core microbenchmarks (CPU ns per call):")
    M.append("")
    M.append("| benchmark | ns |")
    M.append("|---|---:|")
    for r in res["micro"]["rows"]:
        M.append(f"| `{r['name']}` | {r['ns']:.1f} |")
    M.append("")
    M.append("| target | value | goal | |")
    M.append("|---|---|---|---|")
    for name, tg in res["targets"].items():
        M.append(f"| {name} | {tg['value']} | {tg['goal']} | {'met' if tg['met'] else 'not met'} |")
    return "\n".join(M) + "\n"


def FULL_OR(res, key):
    return res["parameters"][key]


def charts(res, outdir, tmp):
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no charts")
        return []
    tmp = Path(tmp)
    made = []
    # Latency percentiles per contender and concurrency.
    lat = tmp / "latency.dat"
    with lat.open("w") as f:
        f.write("label p50 p90 p99\n")
        for row in res["throughput"]["rows"]:
            for kind in CONTENDERS:
                r = row[kind]
                f.write(f'"{kind} c={row["concurrency"]}" {r["p50_ms"]} {r["p90_ms"]} '
                        f'{r["p99_ms"]}\n')
    thr = tmp / "throughput.dat"
    with thr.open("w") as f:
        f.write("conc " + " ".join(CONTENDERS) + "\n")
        for row in res["throughput"]["rows"]:
            f.write(f'"c={row["concurrency"]}" ' +
                    " ".join(str(row[k]["rps"]) for k in CONTENDERS) + "\n")
    fair = tmp / "shares.dat"
    fr = res["fairness"]
    cols = [("ideal", fr["ideal_pct"])]
    for kind in BALANCERS:
        cols.append((kind, fr[kind]["shares_pct"]))
    for kind in BALANCERS:
        cols.append((f"{kind}, after sticky burst (new)", fr[kind]["after_burst_new_sessions_pct"]))
    with fair.open("w") as f:
        f.write("member " + " ".join(f'"{c}"' for c, _ in cols) + "\n")
        for i, w in enumerate(fr["weights"]):
            f.write(f'"n{i + 1} (weight {w})" ' + " ".join(str(v[i]) for _, v in cols) + "\n")
    slow = tmp / "slow.dat"
    with slow.open("w") as f:
        f.write("row p50 p90 p99\n")
        for r in res["slow_member"]["rows"]:
            f.write(f'"{r["front"]} {r["lbmethod"]}" {r["p50_ms"]} {r["p90_ms"]} {r["p99_ms"]}\n')
    common = ("set terminal pngcairo size 1000,560 font 'DejaVu Sans,10'\n"
              "set style data histograms\nset style histogram clustered gap 1\n"
              "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\n"
              "set key top left\nset xtics rotate by -30 scale 0\nset yrange [0:*]\n")
    plots = {
        "latency.png": (f"set title 'Latency percentiles under wrk (ms, median of runs)'\n"
                        f"set ylabel 'ms'\nplot '{lat}' using 2:xtic(1) title col, "
                        f"'' using 3 title col, '' using 4 title col\n"),
        "throughput.png": (f"set title 'Throughput (req/s, median of runs)'\nset ylabel 'req/s'\n"
                           f"plot '{thr}' using 2:xtic(1) title col, '' using 3 title col, "
                           f"'' using 4 title col\n"),
        "shares.png": (f"set title 'Share of requests per member, weights 1:2:5 (%)'\n"
                       f"set ylabel '%'\nplot for [i=2:{len(cols) + 1}] '{fair}' "
                       f"using i:xtic(1) title col\n"),
        "slow_member.png": (f"set title 'Slow member (+{res['slow_member']['slow_member_delay_ms']}"
                            f" ms on 1 of 3): latency at {res['slow_member']['offered_rps']} "
                            f"req/s (ms)'\nset ylabel 'ms'\nplot '{slow}' using 2:xtic(1) title "
                            f"col, '' using 3 title col, '' using 4 title col\n"),
    }
    for name, body in plots.items():
        out = Path(outdir) / name
        subprocess.run(["gnuplot"], input=common + f"set output '{out}'\n" + body, text=True,
                       check=True, timeout=60)
        made.append(str(out.relative_to(ROOT)) if out.is_relative_to(ROOT) else str(out))
    return made + failing_chart(res, outdir, tmp)


# --- main ---------------------------------------------------------------------------

def finish_only(res, outdir, tmp, fronts, began):
    """--only failing_member: its JSON, Markdown and chart, under their own names."""
    res["error_log_lines"] = {
        k: sum(1 for line in f.log_text().splitlines()
               if "[proxy" in line or "[isbalancer" in line or ":error]" in line)
        for k, f in fronts.items()}
    res["load_average"]["end"] = [round(x, 2) for x in os.getloadavg()]
    res["seconds"] = round(time.monotonic() - began, 1)
    res["charts"] = failing_chart(res, outdir, tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    (outdir / "failing_member.json").write_text(json.dumps(res, indent=2) + "\n")
    (outdir / "failing_member.md").write_text("\n".join(failing_markdown(res["failing_member"]))
                                              + "\n")
    log("")
    log("\n".join(failing_text(res["failing_member"])))
    log("")
    log(f"results: {outdir / 'failing_member.json'}, {outdir / 'failing_member.md'}, charts "
        f"{', '.join(res['charts'])} ({res['seconds']} s)")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="seconds, for CI")
    ap.add_argument("--build-dir", default=str(ROOT / "build-release"))
    ap.add_argument("--only", choices=["failing_member"],
                    help="run this section alone (quick or full parameters)")
    ap.add_argument("--out", help="results directory (default bench/results, or "
                                  "BUILD_DIR/bench-quick with --quick)")
    args = ap.parse_args()
    build = Path(args.build_dir).resolve()
    module = build / "mod_isbalancer.so"
    outdir = Path(args.out) if args.out else (build / "bench-quick" if args.quick
                                              else ROOT / "bench" / "results")
    outdir.mkdir(parents=True, exist_ok=True)
    for tool in ("wrk", "valgrind"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: bash scripts/deps.sh installs it")
    p = QUICK if args.quick else FULL
    began = time.monotonic()
    res = {"benchmark": "isbalancer.bench/1", "mode": "quick" if args.quick else "full",
           "command": "bash bench/run.sh" + (" --quick" if args.quick else ""),
           "started_at": datetime.datetime.now(datetime.timezone.utc).strftime(
               "%Y-%m-%d %H:%M UTC"),
           "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                        capture_output=True, text=True).stdout.strip(),
           "machine": machine(), "parameters": p,
           "load_average": {"start": [round(x, 2) for x in os.getloadavg()]}}
    log(f"== mod_isbalancer benchmarks ({res['mode']}), module {module}")
    log(f"load average at start: {res['load_average']['start']}")
    if args.only:
        res["command"] += f" --only {args.only}"
    tmp = tempfile.mkdtemp(prefix="isb-bench-")
    backends, fronts = [], {}
    try:
        if not args.only:
            log("== 1. instructions per request (bench/instructions.py)")
            res["instructions"] = run_instructions(module, args.quick, tmp)
            # bench/instructions.py's own file, as it writes it, beside the rest.
            shutil.copy(Path(tmp) / "instructions.json", outdir / "instructions.json")

        groups = {"t": [Backend(f"t{i + 1}") for i in range(3)],
                  "fair": [Backend(f"n{i + 1}") for i in range(3)],
                  "slow": [Backend("s1"), Backend("s2"), Backend("s3", p["slow_delay_ms"])],
                  "fo": [Backend(f"f{i + 1}") for i in range(3)],
                  "fm": [Backend(f"e{i + 1}") for i in range(3)]}
        for g in groups.values():
            for b in g:
                backends.append(b.start())
        for kind in CONTENDERS:
            fronts[kind] = Front(kind, module, groups).start()
        res["children"] = {k: f.children() for k, f in fronts.items()}
        log(f"fronts up (children: {res['children']})")
        if args.only == "failing_member":
            log("== 6. a failing member (503 on every second request)")
            res["failing_member"] = bench_failing_member(fronts, groups["fm"], p)
            return finish_only(res, outdir, tmp, fronts, began)

        log("== 2. throughput and latency (wrk)")
        res["throughput"] = bench_throughput(fronts, p)
        log("== 3. fairness, weights 1:2:5")
        res["fairness"] = bench_fairness(fronts, groups["fair"], p)
        log(f"== 4. slow member (+{p['slow_delay_ms']} ms), {p['slow_rate']} req/s offered")
        res["slow_member"] = bench_slow(fronts, groups["slow"], p)
        log("== 5. failover")
        res["failover"] = bench_failover(fronts, groups["fo"], p)
        log("== 6. a failing member (503 on every second request)")
        res["failing_member"] = bench_failing_member(fronts, groups["fm"], p)
        res["error_log_lines"] = {
            k: sum(1 for line in f.log_text().splitlines()
                   if "[proxy" in line or "[isbalancer" in line or ":error]" in line)
            for k, f in fronts.items()}
    finally:
        for f in fronts.values():
            f.cleanup()
        for b in backends:
            b.stop()
    log("== 7. microbenchmarks of the core")
    res["micro"] = bench_micro(build, p)
    res["load_average"]["end"] = [round(x, 2) for x in os.getloadavg()]
    res["seconds"] = round(time.monotonic() - began, 1)
    res["targets"] = targets(res)
    res["charts"] = charts(res, outdir, tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    name = "quick" if args.quick else "bench"
    (outdir / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
    (outdir / f"{name}.md").write_text(report_markdown(res))
    log("")
    log(report_text(res))
    log("")
    log(f"results: {outdir / (name + '.json')}, {outdir / (name + '.md')}, charts "
        f"{', '.join(res['charts'])} ({res['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

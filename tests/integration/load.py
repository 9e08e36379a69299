"""A bounded load client for the fault tests, and where their figures go.

Load runs a few client threads against 127.0.0.1, each with its own connection,
until stopped or until its request or time bound. It records every request
(start, end, status, backend, error), so a test can say exactly which requests
failed and when, relative to the fault it caused.

Keep-alive: when a reused connection is closed by the server before any byte of
the response arrives (the race every HTTP/1.1 client has with a server closing
an idle connection), the GET is sent once more on a new connection, as RFC 9112
section 9.3.1 allows for idempotent requests. Such retries are counted
separately; a failure on a fresh connection is a failed request.
"""
import http.client
import json
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass, field as dc_field
from pathlib import Path

from harness import BUILD, field

FIGURES_DIR = Path(os.environ.get("ISB_FIGURES_DIR", BUILD / "reliability"))


@dataclass
class Result:
    t0: float
    t1: float
    status: int = 0  # 0: no response
    backend: str = ""
    error: str = ""
    retried: bool = False


@dataclass
class Load:
    port: int
    threads: int = 4
    paths: tuple = ("/",)          # cycled per request
    headers: tuple = ({},)         # cycled per request, beside paths
    keepalive: bool = True
    timeout: float = 15.0          # client socket timeout per request
    max_requests: int = 200_000    # bound across all threads
    max_seconds: float = 90.0      # bound on the whole run
    results: list = dc_field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = []
        self._issued = 0

    def start(self):
        self.started = time.monotonic()
        for i in range(self.threads):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._workers:
            t.join(timeout=self.timeout + 10)
        assert not any(t.is_alive() for t in self._workers), "load threads did not stop"
        self.results.sort(key=lambda r: r.t0)
        return self.results

    def run_for(self, seconds):
        self.start()
        time.sleep(seconds)
        return self.stop()

    def _take(self):
        with self._lock:
            if self._issued >= self.max_requests:
                return None
            self._issued += 1
            return self._issued

    def _connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def _run(self, worker):
        conn, used = None, False
        deadline = self.started + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            n = self._take()
            if n is None:
                break
            path = self.paths[n % len(self.paths)]
            headers = dict(self.headers[n % len(self.headers)])
            if not self.keepalive:
                headers["Connection"] = "close"
            res = Result(time.monotonic(), 0.0)
            for attempt in (0, 1):
                if conn is None:
                    conn, used = self._connect(), False
                try:
                    conn.request("GET", path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read().decode(errors="replace")
                    res.status, res.backend = resp.status, field(body, "backend") or ""
                    res.error = ""
                    used = True
                    if resp.will_close or not self.keepalive:
                        conn.close()
                        conn = None
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError,
                        BrokenPipeError) as e:
                    # Closed before any response byte: retry once if the
                    # connection had served a request before (a stale keep-alive).
                    conn.close()
                    conn, stale = None, used
                    res.error = type(e).__name__
                    if attempt == 0 and stale:
                        res.retried = True
                        continue
                    break
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = None
                    res.error = type(e).__name__
                    break
            res.t1 = time.monotonic()
            with self._lock:
                self.results.append(res)
        if conn is not None:
            conn.close()


def summary(results, ok=(200,)):
    failed = [r for r in results if r.status not in ok]
    return {
        "requests": len(results),
        "failed": len(failed),
        "retried_stale_keepalive": sum(r.retried for r in results),
        "statuses": {str(s): sum(1 for r in results if r.status == s)
                     for s in sorted({r.status for r in results})},
        "errors": {e: sum(1 for r in failed if r.error == e)
                   for e in sorted({r.error for r in failed if r.error})},
    }


def record(name, figures):
    """Print a test's figures and write them to FIGURES_DIR/<name>.json."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    figures = {"test": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **figures}
    (FIGURES_DIR / f"{name}.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    print(f"\nFIGURES {name}: {json.dumps(figures, sort_keys=True)}")
    return figures


class BlackHole:
    """A member that accepts connections but never reads or answers. Holds at
    most `limit` connections; stopped by the test."""

    def __init__(self, limit=256):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.limit = limit
        self.accepted = 0
        self._conns = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            if len(self._conns) >= self.limit:
                c.close()
                continue
            c.setblocking(False)
            self._conns.append(c)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for c in self._conns:
            c.close()
        self.sock.close()


def manager_json(client):
    status, _, body, _ = client.request("/balancer-manager?format=json")
    assert status == 200, body
    return json.loads(body)


def members_by_name(doc, balancer=0):
    return {m["name"]: m for m in doc["balancers"][balancer]["members"]}


def as_dicts(results):
    return [asdict(r) for r in results]

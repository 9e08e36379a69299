"""The retry budget and body-safe failover against a real httpd
(docs/protection.md#retry-budget).

mod_proxy fails a request over to another member whenever the scheme handler
answers 503: for mod_proxy_http a connect failure (refused, or timed out). The
members below are closed ports (refused at once) or "stalled" ports: a listener
whose accept queue the test fills, so that every further SYN is dropped and a
connect waits out the member's connectiontimeout. Assertions compare counts
(the module's counters and what the members saw), never how fast a run was,
except as the lower bound that a stalled connect cannot beat.
"""
import os
import re
import signal
import socket
import struct
import threading
import time

import pytest

from harness import MANAGER, MEMBER_DOWN, Client, dead_or_zombie, free_port, wait_for
from load import manager_json

MPMS = ["event", "prefork"]
# mod_proxy's lines for a member that refuses or times out, and ours for a
# refused failover; forcerecovery's, should every member of a retry=0 balancer be
# in error at the very moment of a pick.
FAILOVER_LOG = MEMBER_DOWN + [r"ISB00052", r"ISB00014", r"AH01102"]


def budget_of(doc, name):
    for b in doc["balancers"]:
        if b["name"] == f"balancer://{name}":
            return b
    raise KeyError(name)


def settled(client, name):
    """The balancer's document once no request is in flight on it: a request's
    counts go when its pool is destroyed, which httpd does after the client has
    the answer (and logged it), so the gauges may lag the last answer a little."""
    out = {}

    def idle():
        out["b"] = budget_of(manager_json(client), name)
        rb = out["b"]["retry_budget"]
        return rb["in_flight"] == 0 and rb["retries_in_flight"] == 0
    wait_for(idle, timeout=10, step=0.1, what=f"no request in flight on {name}")
    return out["b"]


def elected(b):
    return sum(m["elected"] for m in b["members"])


def balancer(name, members, path, proxyset="", own=""):
    lines = [f'<Proxy "balancer://{name}">']
    lines += [f'    BalancerMember "{url}" {params}' for url, params in members]
    if proxyset:
        lines.append(f"    ProxySet {proxyset}")
    if own:
        lines.append(f"    ISBalancerSet {own}")
    lines.append("</Proxy>")
    lines.append(f'ProxyPass "{path}" "balancer://{name}/"')
    return "\n".join(lines)


class Stalled:
    """A port whose connects never complete: it listens with a backlog of 0 and one
    connection of ours fills its accept queue, so Linux drops every further SYN."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.filler = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            with pytest.raises(OSError):
                probe.connect(("127.0.0.1", self.port))
        finally:
            probe.close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.filler.close()
        self.sock.close()


def concurrent_gets(port, path, n, timeout=60):
    """n GETs at once, each on its own connection, released together by a barrier;
    [(status, seconds)] and the wall time from the release to the last answer."""
    barrier = threading.Barrier(n + 1, timeout=30)
    out = [None] * n

    def one(i):
        cl = Client(port)
        barrier.wait()
        t0 = time.monotonic()
        try:
            status = cl.request(path)[0]
        except OSError as e:  # recorded, asserted on below
            status = repr(e)
        out[i] = (status, time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "client threads did not finish"
    return out, time.monotonic() - t0


@pytest.mark.parametrize("mpm", MPMS)
@pytest.mark.parametrize("own, retries_per_request", [
    ("retrybudget=100", 3),           # stock: every request tries every attempt
    ("", 3),                          # the default (20 %, floor 3): a lone failure fails over
    ("retrybudget=0 retryfloor=0", 0),  # no failover at all: one attempt per request
])
def test_budget_counts_of_a_mass_failure(httpd, mpm, own, retries_per_request):
    """Every member refuses connections (retry=0 keeps them eligible), one request at
    a time: stock's retry storm is exactly maxattempts failovers per request; the
    budget lets a lone request's failovers through (the floor), and a budget of none
    turns each request into one attempt and a 503."""
    ports = [free_port() for _ in range(4)]
    h = httpd(balancer("c", [(f"http://127.0.0.1:{p}", "retry=0") for p in ports], "/",
                       proxyset="maxattempts=3", own=own) + MANAGER, mpm=mpm)
    h.allowed = FAILOVER_LOG
    cl = Client(h.port)
    requests = 20
    for _ in range(requests):
        assert cl.request("/x")[0] == 503
    b = settled(cl, "c")
    rb = b["retry_budget"]
    assert rb["retries"] == requests * retries_per_request, rb
    assert rb["refused"] == (requests if retries_per_request == 0 else 0), rb
    assert rb["unsafe_refused"] == 0, rb
    # Connect attempts: one per election.
    assert elected(b) == requests * (1 + retries_per_request), b
    if retries_per_request == 0:
        assert h.error_log.read_text().count("ISB00052") == requests


@pytest.mark.parametrize("mpm", MPMS)
@pytest.mark.parametrize("limited", [True, False], ids=["budget", "unlimited"])
def test_budget_bounds_failovers_in_flight(httpd, mpm, limited):
    """8 concurrent requests to members whose connects stall for connectiontimeout=1.
    Unlimited (retrybudget=100, stock's behaviour) every request tries all 3 members.
    With a budget of 2 failovers at a time (retrybudget=0 retryfloor=2), a request
    either gets a slot and tries maxattempts=2 more members, or is refused at its
    first failover and answered 503 after its first connect."""
    stalled = [Stalled() for _ in range(3)]
    own = "retrybudget=0 retryfloor=2" if limited else "retrybudget=100"
    try:
        h = httpd(balancer("c", [(s.url, "retry=0 connectiontimeout=1") for s in stalled], "/",
                           proxyset="maxattempts=2", own=own) + MANAGER, mpm=mpm)
        h.allowed = FAILOVER_LOG
        n, attempts_after_first, ct = 8, 2, 1.0
        answers, wall = concurrent_gets(h.port, "/x", n)
        b = settled(Client(h.port), "c")
    finally:
        for s in stalled:
            s.close()
    assert [a[0] for a in answers] == [503] * n, answers
    rb = b["retry_budget"]
    refused, retries = rb["refused"], rb["retries"]
    # Connects: one per request, and one per failover let through; a refused
    # request got its 503 after its first connect, with no second one.
    assert elected(b) == n + retries
    print(f"{own}, {n} concurrent requests: failovers {retries}, refused {refused}, "
          f"wall {wall:.2f} s")
    if not limited:
        assert retries == attempts_after_first * n and refused == 0, rb
        return
    # Each request's first failover is admitted or refused; an admitted one keeps
    # its slot for its second (the limit does not move), so:
    admitted = n - refused
    assert retries == attempts_after_first * admitted, rb
    # An admitted request holds one of the 2 slots for its 2 failovers, each a
    # stalled connect of at least `ct`: no more than 2 per 2 s can have had one.
    bound = 2 * (wall / (attempts_after_first * ct) + 1)
    assert admitted <= bound, (rb, wall)
    if bound < n:  # always, unless the machine took 3 s per stalled connect
        assert retries < attempts_after_first * n and refused >= 1, (rb, wall)


def syn_sent_owner(pids, ports):
    """The PID among `pids` with a socket still connecting (SYN_SENT) to one of
    `ports` on 127.0.0.1, or None: /proc/net/tcp gives the socket's inode, each
    process's fd links name their sockets' inodes."""
    inodes = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        if f[3] == "02" and int(f[2].split(":")[1], 16) in ports:
            inodes.add(f"socket:[{f[9]}]")
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    return None


@pytest.mark.parametrize("mpm", MPMS)
def test_child_killed_mid_failover_gives_its_counts_back(httpd, mpm):
    """A child SIGKILLed while its request is failing over never ends that request:
    its counts in the balancer's in_flight and retries_in_flight would stay up for
    good and, with retryfloor=1, refuse every later failover. The parent gives them
    back from the child's ledger row (its monitor hook, about every 10 s, logging
    ISB00040), and failovers are admitted again."""
    stalled = [Stalled() for _ in range(2)]
    ports = {s.port for s in stalled}
    attempts = 30  # at 1 s a stalled connect, the request fails over for 30 s
    try:
        h = httpd(balancer("c", [(s.url, "retry=0 connectiontimeout=1") for s in stalled], "/",
                           proxyset=f"maxattempts={attempts}",
                           own="retrybudget=0 retryfloor=1") + MANAGER, mpm=mpm)
        h.allowed = FAILOVER_LOG
        cl = Client(h.port)

        def send():
            try:
                Client(h.port).request("/x")
            except OSError:  # its child is killed under it
                pass
        client = threading.Thread(target=send, daemon=True)
        client.start()
        rb = {}

        def failing_over():
            rb.update(budget_of(manager_json(cl), "c")["retry_budget"])
            return rb["retries_in_flight"] == 1
        wait_for(failing_over, timeout=10, step=0.1, what="the request in its failover")
        assert rb["in_flight"] == 1, rb
        found = {}

        def owner():
            found["pid"] = syn_sent_owner(h.child_pids(), ports)
            return found["pid"] is not None
        wait_for(owner, timeout=5, step=0.02, what="the child connecting to a stalled member")
        victim = found["pid"]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: dead_or_zombie(victim), timeout=10, what="killed child to die")
        t_kill = time.monotonic()
        client.join(timeout=10)
        assert not client.is_alive()

        last = {}

        def given_back():
            last["b"] = budget_of(manager_json(cl), "c")
            r = last["b"]["retry_budget"]
            return r["in_flight"] == 0 and r["retries_in_flight"] == 0
        # The monitor hook runs on every tenth one-second wake-up of the parent.
        wait_for(given_back, timeout=30, step=0.2, what="the killed child's counts given back")
        reclaim_s = time.monotonic() - t_kill
        assert all(m["busy"] == 0 for m in last["b"]["members"]), last["b"]
        notices = re.findall(r"ISB00040: gave back (\d+) busy counts, (\d+) requests in flight "
                             r"and (\d+) failovers in flight", h.error_log.read_text())
        # One request, one failover; a busy count for each attempt so far (each is
        # released when the request ends).
        assert len(notices) == 1 and notices[0][1:] == ("1", "1"), notices
        assert int(notices[0][0]) >= 2, notices
        print(f"{mpm}: counts given back {reclaim_s:.1f} s after the kill")

        # Failovers are admitted again: with the members now refusing connections, a
        # request fails over `attempts` times (retry=0 keeps them eligible), none refused.
        before = last["b"]["retry_budget"]
    finally:
        for s in stalled:
            s.close()
    assert cl.request("/y")[0] == 503
    after = settled(cl, "c")["retry_budget"]
    assert after["retries"] - before["retries"] == attempts, (before, after)
    assert after["refused"] == before["refused"], (before, after)
    assert "ISB00052" not in h.error_log.read_text()


class ThreadedMember:
    """A member served by a thread of the test: listens on 127.0.0.1, hands each
    connection to _serve() on a thread of its own; stop() closes the listener, so
    from then on the port refuses connections."""

    scheme = ""

    def __init__(self, rcvbuf=None):
        self.requests = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        raise NotImplementedError

    def stop(self):
        """Close the listener: from now on the port refuses connections."""
        self.stopping.set()
        self.sock.close()
        self.thread.join(timeout=5)


class Scgi(ThreadedMember):
    """A tiny SCGI member on a thread of the test. "good" answers every request and
    records (method, path, CONTENT_LENGTH, body bytes it read). "cut" reads the
    header and 16 KiB of the body, stops reading for 0.5 s, then resets the
    connection (SO_LINGER 0)."""

    scheme = "scgi"

    def __init__(self, mode):
        self.mode = mode
        self.cuts = 0
        # A "cut" member's accepted sockets inherit a small receive buffer (a small
        # window), so what httpd has sent and the member has not read is at most
        # httpd's send buffer, which Linux grows up to tcp_wmem's maximum (4 MiB
        # here): with a body larger than that (body_size()), mod_proxy_scgi is
        # still sending when the reset comes, and its send fails (503) rather than
        # its read of the response (502).
        super().__init__(rcvbuf=4096 if mode == "cut" else None)

    @staticmethod
    def _read(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(min(65536, n - len(data)))
            if not chunk:
                break
            data += chunk
        return data

    def _serve(self, conn):
        conn.settimeout(20)
        try:
            length = b""
            while not length.endswith(b":"):
                c = conn.recv(1)
                if not c:
                    return
                length += c
            header = self._read(conn, int(length[:-1]) + 1)[:-1]  # and the ","
            words = header.split(b"\0")
            env = dict(zip(words[0::2], words[1::2]))
            size = int(env.get(b"CONTENT_LENGTH", b"0") or 0)
            if self.mode == "cut":
                self._read(conn, min(size, 16384))
                time.sleep(0.5)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                with self.lock:
                    self.cuts += 1
                return
            body = self._read(conn, size)
            with self.lock:
                self.requests.append((env.get(b"REQUEST_METHOD", b"").decode(),
                                      env.get(b"REQUEST_URI", b"").decode(), size, len(body)))
            conn.sendall(b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n" +
                         f"scgi=good\nbody={len(body)}\n".encode())
        finally:
            conn.close()

def body_size():
    """2 MiB, or more than twice the largest send buffer Linux gives a socket (see
    Scgi), whichever is larger."""
    try:
        wmem_max = int(open("/proc/sys/net/ipv4/tcp_wmem").read().split()[2])
    except (OSError, ValueError, IndexError):
        wmem_max = 4 << 20
    return max(2 << 20, 2 * wmem_max + (1 << 20))


def post(port, path, body, timeout=30):
    """POST `body` on a raw connection, sending from a second thread so that an
    answer given before the body is all sent is still read; (status, response body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n").encode()

    def send():
        try:
            s.sendall(head + body)
        except OSError:
            pass  # httpd answered and closed before taking the whole body

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    data = b""
    try:
        while chunk := s.recv(65536):  # Connection: close; bounded by the socket timeout
            data += chunk
    except ConnectionResetError:
        pass  # a reset after the answer: keep what came
    finally:
        sender.join(timeout=timeout)
        s.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1].decode(errors="replace")


@pytest.mark.parametrize("mpm", MPMS)
def test_body_safe_failover(httpd, backends, mpm):
    """A large POST whose body was partly sent to an SCGI member that then failed is not
    repeated on another member (stock sends it on, short); a GET, or a POST of which
    nothing was read, fails over; mod_proxy_http's failovers keep the whole body."""
    cut, good = Scgi("cut"), Scgi("good")
    (web,) = backends("web")
    refused_http = free_port()
    try:
        conf = (balancer("s", [(cut.url, "retry=1"), (good.url, "status=+H")], "/s/") + "\n" +
                balancer("h", [(f"http://127.0.0.1:{refused_http}", "retry=1"),
                               (web.url, "status=+H")], "/h/") + MANAGER)
        h = httpd(conf, mpm=mpm, modules=["proxy_scgi"])
        h.allowed = FAILOVER_LOG + [r"ISB00053", r"AH00858", r"AH00866"]
        cl = Client(h.port)
        body = bytes(range(256)) * (body_size() // 256)

        # 1. The cut member reads part of the body and resets: 503, and the good
        # member never sees the request.
        status, text = post(h.port, "/s/upload", body)
        assert status == 503, text
        assert cut.cuts == 1
        assert good.requests == []
        rb = settled(cl, "s")["retry_budget"]
        assert rb["unsafe_refused"] == 1 and rb["retries"] == 0 and rb["refused"] == 0, rb
        assert "ISB00053" in h.error_log.read_text()

        # 2. The same member, now refusing connections, after its retry=1: a GET fails
        # over to the good member, and so does a POST (nothing of its body was read).
        cut.stop()
        time.sleep(1.2)
        status, _, text, _ = cl.request("/s/page")
        assert status == 200 and "scgi=good" in text, text
        time.sleep(1.2)
        status, text = post(h.port, "/s/upload", body)
        assert status == 200, text
        assert f"body={len(body)}" in text
        assert [(m, size, got) for m, _, size, got in good.requests] == [
            ("GET", 0, 0), ("POST", len(body), len(body))]
        rb = settled(cl, "s")["retry_budget"]
        assert rb["unsafe_refused"] == 1 and rb["retries"] == 2, rb

        # 3. http: connect refused, then the standby gets the whole body that
        # mod_proxy_http kept.
        status, text = post(h.port, "/h/upload", body)
        assert status == 200, text
        assert "backend=web" in text and f"body={len(body)}" in text, text
        rb = settled(cl, "h")["retry_budget"]
        assert rb["retries"] == 1 and rb["unsafe_refused"] == 0 and rb["refused"] == 0, rb

        # The counters in Prometheus and on the page.
        _, _, prom, _ = cl.request("/balancer-manager?format=prometheus")
        assert 'isbalancer_balancer_retries_total{balancer="s"} 2\n' in prom
        assert 'isbalancer_balancer_retries_refused_total{balancer="s",reason="body"} 1\n' in prom
        assert 'isbalancer_balancer_retries_refused_total{balancer="s",reason="budget"} 0\n' in prom
        assert 'isbalancer_balancer_retries_total{balancer="h"} 1\n' in prom
        assert 'isbalancer_balancer_retries_in_flight{balancer="h"} 0\n' in prom
        _, _, page, _ = cl.request("/balancer-manager")
        assert "Failovers: 2 (refused: budget 0, body 1)" in page
    finally:
        if not cut.stopping.is_set():
            cut.stop()
        good.stop()


class Fcgi(ThreadedMember):
    """A tiny FastCGI responder on a thread of the test: it reads one request's
    records (BEGIN_REQUEST, PARAMS, STDIN up to its empty record), records
    (method, CONTENT_LENGTH, body bytes it read) and answers "fcgi=good"."""

    scheme = "fcgi"

    @staticmethod
    def _params(data):
        out, i = {}, 0

        def length():
            nonlocal i
            n = data[i]
            if n >> 7:
                n = struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF
                i += 4
            else:
                i += 1
            return n
        while i < len(data):
            kl, vl = length(), length()
            out[data[i:i + kl]] = data[i + kl:i + kl + vl]
            i += kl + vl
        return out

    def _serve(self, conn):
        conn.settimeout(20)
        f = conn.makefile("rb")
        try:
            params, body, rid = b"", b"", 1
            while True:
                head = f.read(8)
                if len(head) < 8:
                    return
                _, kind, rid, clen, pad, _ = struct.unpack(">BBHHBB", head)
                content = f.read(clen)
                f.read(pad)
                if kind == 4:  # PARAMS
                    params += content
                elif kind == 5:  # STDIN
                    if not content:
                        break
                    body += content
            env = self._params(params)
            with self.lock:
                self.requests.append((env.get(b"REQUEST_METHOD", b"").decode(),
                                      int(env.get(b"CONTENT_LENGTH", b"0") or 0), len(body)))
            out = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n" + \
                f"fcgi=good\nbody={len(body)}\n".encode()
            conn.sendall(struct.pack(">BBHHBB", 1, 6, rid, len(out), 0, 0) + out +
                         struct.pack(">BBHHBB", 1, 6, rid, 0, 0, 0) +
                         struct.pack(">BBHHBB", 1, 3, rid, 8, 0, 0) + b"\0" * 8)
        finally:
            f.close()
            conn.close()

@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_fcgi_failover_sends_on_the_body_it_kept(httpd, backends, mpm):
    """mod_proxy_fcgi reads the first 16 KiB of a body before it connects and keeps
    them for the next fcgi member: a POST to a refusing fcgi member fails over to the
    next one with its whole body. Where the next member is not fcgi (a balancer that
    mixes handlers), what fcgi kept would be lost, so the failover is refused."""
    good = Fcgi()
    (web,) = backends("web")
    try:
        conf = (balancer("f", [(f"fcgi://127.0.0.1:{free_port()}", "retry=1"),
                               (good.url, "status=+H")], "/f/") + "\n" +
                balancer("m", [(f"fcgi://127.0.0.1:{free_port()}", "retry=1"),
                               (web.url, "status=+H")], "/m/") + MANAGER)
        h = httpd(conf, mpm=mpm, modules=["proxy_fcgi"])
        h.allowed = FAILOVER_LOG + [r"ISB00053", r"AH01079"]
        cl = Client(h.port)
        body = bytes(range(256)) * 400  # 100 KiB: more than the 16 KiB fcgi reads first
        status, text = post(h.port, "/f/upload", body)
        assert status == 200 and "fcgi=good" in text and f"body={len(body)}" in text, text
        assert good.requests == [("POST", len(body), len(body))]
        rb = settled(cl, "f")["retry_budget"]
        assert rb["retries"] == 1 and rb["unsafe_refused"] == 0, rb
        status, text = post(h.port, "/m/upload", body)
        assert status == 503, text
        rb = settled(cl, "m")["retry_budget"]
        assert rb["unsafe_refused"] == 1 and rb["retries"] == 0, rb
        status, _, text, _ = cl.request("/m/page")  # nothing of a body: it fails over
        assert status == 200 and "backend=web" in text, text
    finally:
        good.stop()

"""Faults under load against a real httpd: a member killed, a member that never
answers, a graceful restart, a child killed, the parent killed. Each test reports
its figures (printed, and written to build/reliability/<test>.json; see load.py).

Timing bounds are generous: the machine is small and shared.
"""
import os
import re
import signal
import time
import urllib.parse

from harness import MEMBER_DOWN, Client, balancer_conf, dead_or_zombie, port_open, wait_for
from load import BlackHole, Load, manager_json, members_by_name, record, summary

THREADS = 4
# What httpd logs when a member dies under a request or right after: mod_proxy's
# "error reading status line" / "connection reset" for requests in flight on it.
IN_FLIGHT_LOST = [r"AH01102", r"AH01110", r"AH00898"]


def faults_conf(members, proxyset="", member_params="retry=60"):
    body = balancer_conf([(m.url, f"{member_params} {p}") for m, p in members],
                         proxyset=proxyset, extra='ProxyPass "/balancer-manager" !')
    return body + """
<Location "/balancer-manager">
    SetHandler balancer-manager
    Require local
</Location>
"""


def wait_idle(client, timeout=15.0):
    """Wait (bounded) until no member has a request in flight; the last document."""
    last = {}

    def idle():
        last["doc"] = manager_json(client)
        return all(m["busy"] == 0 for m in members_by_name(last["doc"]).values())
    try:
        wait_for(idle, timeout=timeout, step=0.2, what="busy counts back to 0")
    except TimeoutError:
        pass
    return last["doc"]


def test_member_killed_mid_load(backends, httpd):
    a, b, c = backends("a", "b", "c")
    h = httpd(faults_conf([(a, ""), (b, ""), (c, "")]))
    h.allowed = MEMBER_DOWN + IN_FLIGHT_LOST
    cl = Client(h.port)
    load = Load(h.port, threads=THREADS, paths=("/x", "/sleep/20")).start()
    time.sleep(2.0)
    t_kill = time.monotonic()
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(timeout=10)  # dead, and its sockets closed, from here on
    t_killed = time.monotonic()
    time.sleep(3.0)
    results = load.stop()
    b.stop()

    doc = manager_json(cl)
    dead = members_by_name(doc)[b.url]
    s = summary(results)
    failed = [r for r in results if r.status != 200]
    # A request in flight on b when it died is either failed (502) or, on a reused
    # client connection, closed without a response for the client to retry (which
    # httpd does so that a client can resend it, and Load does once).
    lost = [r for r in results if r.status != 200 or r.retried]
    ok_b = sum(1 for r in results if r.status == 200 and r.backend == "b")
    # Every election of b produced a b response, a request lost in flight on b at
    # the kill, or an attempt after the kill that failed over.
    attempts_after_kill = dead["elected"] - ok_b - len(lost)
    figures = record("member_killed", {
        **s, "threads": THREADS, "seconds_after_kill": 3.0,
        "lost_in_flight": len(lost),
        "routed_to_dead_member_after_kill": attempts_after_kill,
        "recover_seconds": round(max((r.t1 for r in failed), default=t_kill) - t_kill, 3),
        "served_after_kill": sum(1 for r in results if r.t0 > t_killed and r.status == 200),
    })
    # Only requests in flight on b when it died may fail: at most one per client
    # thread, and none started after the kill.
    assert all(r.t0 <= t_killed for r in lost), lost
    assert len(lost) <= THREADS, lost
    assert dead["status"]["error"] and not dead["usable"], dead
    # Marked in error within one request (per concurrent thread at most).
    assert 0 <= attempts_after_kill <= THREADS, figures
    assert figures["served_after_kill"] > 50, figures
    assert {r.backend for r in results if r.t0 > t_killed + 0.5 and r.status == 200} == {"a", "c"}


def test_member_killed_is_in_error_after_one_request(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(faults_conf([(a, ""), (b, "")]))
    h.allowed = MEMBER_DOWN
    cl = Client(h.port)
    for _ in range(4):
        assert cl.request("/")[0] == 200
    before = members_by_name(manager_json(cl))[b.url]["elected"]
    b.stop()
    status, _, body, _ = cl.request("/")
    doc = members_by_name(manager_json(cl))
    # One request: b or a chosen; if b, it failed over to a and b is now in error.
    assert status == 200
    if doc[b.url]["elected"] == before:
        assert cl.request("/")[0] == 200
        doc = members_by_name(manager_json(cl))
    assert doc[b.url]["elected"] == before + 1
    assert doc[b.url]["status"]["error"], doc[b.url]
    for _ in range(6):
        assert cl.request("/")[0] == 200
    assert members_by_name(manager_json(cl))[b.url]["elected"] == before + 1


def test_member_that_never_answers(backends, httpd):
    a, b = backends("a", "b")
    hole = BlackHole().start()
    try:
        h = httpd(faults_conf([(a, ""), (b, ""), (hole, "timeout=1")],
                              proxyset="failontimeout=On"))
        h.allowed = [r"AH01102", r"AH00898", r"ISB00013", r"AH01110"]
        cl = Client(h.port)
        load = Load(h.port, threads=THREADS, paths=("/y",))
        results = load.run_for(5.0)
        doc = members_by_name(manager_json(cl))
    finally:
        hole.stop()
    # mod_proxy_http answers a member's read timeout with 502 (504 only for some
    # timeouts); either way the request took about the member's timeout.
    timed_out = [r for r in results if r.status in (502, 504)]
    others = [r for r in results if r.status not in (502, 504)]
    lat = sorted(r.t1 - r.t0 for r in others)
    figures = record("member_never_answers", {
        **summary(results, ok=(200, 502, 504)), "threads": THREADS, "member_timeout_s": 1,
        "timed_out": len(timed_out),
        "timed_out_seconds": [round(r.t1 - r.t0, 3) for r in timed_out],
        "other_members_p50_ms": round(1000 * lat[len(lat) // 2], 1),
        "other_members_p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 1),
        "hole_connections": hole.accepted,
    })
    # The member timed out (504, after about its timeout=1), went into error
    # (failontimeout) and took no more requests; the others answered everything.
    assert 1 <= len(timed_out) <= THREADS, figures
    assert all(0.9 <= r.t1 - r.t0 <= 5.0 for r in timed_out), figures
    assert all(r.status == 200 and r.backend in ("a", "b") for r in others), figures
    assert len(others) > 50, figures
    assert doc[hole.url]["status"]["error"] and doc[hole.url]["faults"] >= 1, doc[hole.url]
    assert doc[hole.url]["elected"] == len(timed_out), doc[hole.url]


def test_member_that_never_answers_without_failontimeout(backends, httpd):
    """ProxyTimeout alone: each request that reaches the silent member times out
    after ProxyTimeout, and requests on the other members are unaffected."""
    a = backends("a")[0]
    hole = BlackHole().start()
    try:
        h = httpd(faults_conf([(a, ""), (hole, "")]), extra_top="ProxyTimeout 1")
        h.allowed = [r"AH01102", r"AH00898", r"AH01110"]
        results = Load(h.port, threads=THREADS, paths=("/z",)).run_for(4.0)
    finally:
        hole.stop()
    timed_out = [r for r in results if r.status in (502, 504)]
    others = [r for r in results if r.status not in (502, 504)]
    record("member_never_answers_proxytimeout", {
        **summary(results, ok=(200, 502, 504)), "threads": THREADS, "proxytimeout_s": 1,
        "timed_out": len(timed_out),
        "other_members_max_ms": round(1000 * max(r.t1 - r.t0 for r in others), 1),
    })
    assert timed_out and all(0.9 <= r.t1 - r.t0 <= 5.0 for r in timed_out)
    assert others and all(r.status == 200 and r.backend == "a" for r in others)
    assert all(r.t1 - r.t0 < 0.9 for r in others)


def test_graceful_restart_under_load(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(faults_conf([(a, ""), (b, "")]))
    cl = Client(h.port)
    load = Load(h.port, threads=THREADS, paths=("/g", "/sleep/10"),
                headers=({}, {"Cookie": "JSESSIONID=s.none"})).start()
    time.sleep(1.5)
    # A runtime edit made under load must survive both restarts too.
    bal = manager_json(cl)["balancers"][0]
    edit = urllib.parse.urlencode({"b": bal["name"][len("balancer://"):], "w": b.url,
                                   "w_lf": "3", "nonce": bal["nonce"]})
    assert cl.request("/balancer-manager", method="POST", body=edit, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"http://127.0.0.1:{h.port}/balancer-manager"})[0] == 200
    before = sum(m["elected"] for m in members_by_name(manager_json(cl)).values())
    t0 = time.monotonic()
    h.graceful()
    restart_s = time.monotonic() - t0
    time.sleep(1.5)
    h.graceful()
    time.sleep(1.5)
    results = load.stop()
    doc = wait_idle(cl)
    elected = sum(m["elected"] for m in members_by_name(doc).values())
    ok = sum(1 for r in results if r.status == 200)
    figures = record("graceful_restart", {
        **summary(results), "threads": THREADS, "restarts": 2,
        "restart_seconds": round(restart_s, 3),
        "elected_before_restart": before, "elected_after": elected, "served": ok,
        "kept_segment_ISB00008": h.error_log.read_text().count("ISB00008"),
    })
    assert figures["failed"] == 0, figures
    assert figures["kept_segment_ISB00008"] == 2
    # Counters kept: every request ever served is counted once, across both
    # restarts (a reset would lose the ones before it).
    assert elected == ok, figures
    assert all(m["busy"] == 0 for m in members_by_name(doc).values())
    assert members_by_name(doc)[b.url]["loadfactor"] == 3


def test_child_killed_mid_load(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(faults_conf([(a, ""), (b, "")], proxyset="lbmethod=bybusyness"))
    cl = Client(h.port)
    load = Load(h.port, threads=6, paths=("/sleep/50", "/k")).start()
    time.sleep(2.0)
    victim = h.child_pids()[0]
    os.kill(victim, signal.SIGKILL)  # httpd does not log a child's SIGKILL exit
    wait_for(lambda: dead_or_zombie(victim), timeout=10, what="killed child to die")
    t_kill = time.monotonic()
    time.sleep(3.0)
    results = load.stop()
    doc = wait_idle(cl)
    members = members_by_name(doc)
    failed = [r for r in results if r.status != 200]
    ok = sum(1 for r in results if r.status == 200)
    elected = sum(m["elected"] for m in members.values())
    lost = sum(1 for r in results if r.t0 <= t_kill and (r.status != 200 or r.retried))
    given_back = sum(int(m) for m in re.findall(r"ISB00040: gave back (\d+)",
                                                  h.error_log.read_text()))
    figures = record("child_killed", {
        **summary(results), "threads": 6,
        "lost_with_child": lost,
        "recover_seconds": round(max((r.t1 for r in failed), default=t_kill) - t_kill, 3),
        "served_after_kill": sum(1 for r in results if r.t0 > t_kill and r.status == 200),
        "busy_after_load": {m["name"]: m["busy"] for m in members.values()},
        "busy_given_back_ISB00040": given_back,
        "elected_minus_served": elected - ok,
    })
    # Only what the killed child had in flight is lost, then service goes on.
    assert all(r.t0 <= t_kill for r in failed), failed
    assert len(failed) <= 6 and figures["served_after_kill"] > 30, figures
    # Shared state stays consistent: nothing stays busy once the load stops, and
    # every election is a served request or one lost with the child.
    assert all(m["busy"] == 0 for m in members.values()), figures
    assert 0 <= elected - ok <= 6, figures
    # The parent gave back what the child held: requests in flight there, at most
    # one per client thread (a request whose response had just gone out may still
    # hold its count, released when its pool is cleaned up).
    assert 0 <= given_back <= 6, figures


def test_parent_killed_then_started(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(faults_conf([(a, ""), (b, "")]))
    # Unclean shutdown leaves the pid file; httpd says so at the next start.
    h.allowed = [r"AH00098"]
    load = Load(h.port, threads=THREADS, paths=("/p",), max_seconds=60).start()
    time.sleep(1.5)
    parent = h.pid
    t_kill = time.monotonic()
    h.kill9()  # SIGKILL the parent, then each of its children by PID
    assert not os.path.exists(f"/proc/{parent}")
    t_start = time.monotonic()
    h.start()
    start_s = time.monotonic() - t_start
    wait_for(lambda: port_open(h.port), timeout=10, what="restarted httpd")
    time.sleep(1.5)
    results = load.stop()
    log = h.error_log.read_text()
    after = [r for r in results if r.t0 > time.monotonic() - 1.0]
    first_ok = min((r.t1 for r in results if r.t0 >= t_start and r.status == 200), default=None)
    failed = [r for r in results if r.status != 200]
    figures = record("parent_killed", {
        **summary(results), "threads": THREADS,
        "kill_seconds": round(t_start - t_kill, 3),
        "start_seconds": round(start_s, 3),
        "serving_again_seconds_after_kill": round(first_ok - t_kill, 3) if first_ok else None,
        "failed_while_down": sum(1 for r in failed if t_kill <= r.t0 and r.t1 <= t_start + start_s),
        "segment_created_ISB00007": log.count("ISB00007"),
    })
    assert first_ok is not None, figures
    # Every failure is from the time httpd was down.
    assert all(r.t1 >= t_kill and r.t0 <= t_start + start_s for r in failed), figures
    assert after and all(r.status == 200 for r in after), figures
    assert log.count("ISB00007") == 2 and "ISB00004" not in log and "ISB00005" not in log
    doc = manager_json(Client(h.port))
    assert all(m["usable"] and m["busy"] == 0 for m in members_by_name(doc).values())

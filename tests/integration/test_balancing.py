"""Drop-in balancing behaviour through a real httpd, under event and prefork."""
import collections
import concurrent.futures
import re
import time

import pytest

from harness import MEMBER_DOWN, Client, balancer_conf, field

MPMS = ["event", "prefork"]


def spread(client, n, path="/", threads=8, headers=None):
    """n requests on fresh connections from several threads; Counter of backends
    and statuses."""
    def one(i):
        status, _, body, _ = client.request(f"{path}?i={i}", headers=headers)
        return status, field(body, "backend")
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, range(n)))
    return (collections.Counter(b for s, b in results if s == 200),
            collections.Counter(s for s, _ in results))


@pytest.mark.parametrize("mpm", MPMS + ["worker"])
def test_weights_1_2_5_across_children(backends, httpd, mpm):
    a, b, c = backends("a", "b", "c")
    h = httpd(balancer_conf([(a.url, "loadfactor=1"), (b.url, "loadfactor=2"),
                             (c.url, "loadfactor=5")]), mpm=mpm)
    n = 3200
    counts, statuses = spread(Client(h.port), n)
    assert statuses == {200: n}
    for name, weight in (("a", 1), ("b", 2), ("c", 5)):
        share = counts[name] / n
        assert abs(share - weight / 8) <= 0.02, (name, counts)
    pids = {line.split()[1] for line in h.access_entries(at_least=n)}
    assert len(pids) >= 2, f"only one child served: {pids}"


@pytest.mark.parametrize("mpm", MPMS)
def test_sticky_by_cookie_and_path(backends, httpd, mpm):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(balancer_conf([(a.url, "route=n1"), (b.url, "route=n2"), (c.url, "route=n3")],
                            proxyset="stickysession=JSESSIONID|jsessionid"), mpm=mpm)
    cl = Client(h.port)
    for _ in range(3):
        status, _, body, cookie = cl.request("/login")
        assert status == 200 and cookie.startswith("JSESSIONID=")
        owner = field(body, "backend")
        session = cookie.split(";")[0]
        counts, statuses = spread(cl, 60, headers={"Cookie": f"x=1; {session}; y=2"})
        assert counts == {owner: 60}
        # The backend saw one session the whole time: its counter went 1..61.
        _, _, body, _ = cl.request("/again", headers={"Cookie": session})
        assert field(body, "count") == "62"
        # The same session as a ;jsessionid= path parameter, without the cookie.
        sid = session.split("=", 1)[1]
        counts, _ = spread(cl, 60, path=f"/app;jsessionid={sid}")
        assert counts == {owner: 60}
    sticky = [l for l in h.access_entries(at_least=3 * 122) if "/again" in l]
    assert all("sticky=JSESSIONID" in l and "changed=-" in l for l in sticky)


@pytest.mark.parametrize("mpm", MPMS)
def test_seed_spelling_keeps_url_rewritten_sessions(backends, httpd, mpm):
    """The seed's `stickysession=JSESSIONID` (no '|'): Tomcat rewrites URLs as
    ";jsessionid=ID.route" in lower case, so the path parameter and the query
    argument match the name in any case; the cookie name stays exact. Every route
    is asked for six times in a row, so a round-robin pick cannot pass by luck."""
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(balancer_conf([(a.url, "route=n1"), (b.url, "route=n2"), (c.url, "route=n3")],
                            proxyset="stickysession=JSESSIONID"), mpm=mpm)
    cl = Client(h.port)
    owner = {"n1": "a", "n2": "b", "n3": "c"}
    forms = ["/app;jsessionid=S.{r}", "/app;JSESSIONID=S.{r}", "/app;JSessionID=S.{r}/x",
             "/app?jsessionid=S.{r}", "/app?a=1&jsessionid=S.{r}", "/app?JSESSIONID=S.{r}",
             "/app;jsessionid=S.{r};jsessionid=S.zz"]
    for form in forms:
        for route in ("n1", "n2", "n3"):
            got = [field(cl.request(form.format(r=route))[2], "backend") for _ in range(6)]
            assert got == [owner[route]] * 6, (form, route, got)
    # Near misses and the cookie's exact name carry no session: balanced.
    misses = [("/miss;xjsessionid=S.n1", None), ("/miss?q=jsessionid=S.n1", None),
              ("/miss", {"Cookie": "jsessionid=S.n1"})]
    for path, headers in misses:
        assert cl.request(path, headers=headers)[0] == 200
    log = h.access_entries(at_least=len(forms) * 3 * 6 + len(misses))
    sticky = [ln for ln in log if "/app" in ln]
    assert len(sticky) == len(forms) * 3 * 6
    # BALANCER_SESSION_STICKY names the name as configured; the route is the first.
    for ln in sticky:
        route = re.search(r"=S\.(n\d)", ln).group(1)
        assert "sticky=JSESSIONID" in ln and f"sroute={route} " in ln and "changed=-" in ln, ln
    missed = [ln for ln in log if "/miss" in ln]
    assert len(missed) == len(misses)
    assert all("sroute=- changed=1" in ln for ln in missed), missed


def test_pipe_form_keeps_stock_exact_names(backends, httpd):
    """`stickysession=COOKIE|path` keeps stock's meaning: both names exact."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(balancer_conf([(a.url, "route=n1"), (b.url, "route=n2")],
                            proxyset="stickysession=JSESSIONID|jsessionid"))
    cl = Client(h.port)
    for route, member in (("n1", "a"), ("n2", "b")):
        got = [field(cl.request(f"/app;jsessionid=S.{route}")[2], "backend") for _ in range(4)]
        assert got == [member] * 4
        assert cl.request(f"/miss;JSESSIONID=S.{route}")[0] == 200
        assert cl.request(f"/miss?JSESSIONID=S.{route}")[0] == 200
    missed = [ln for ln in h.access_entries(at_least=12) if "/miss" in ln]
    assert len(missed) == 4 and all("sroute=- changed=1" in ln for ln in missed), missed


def test_environment_and_reverse_mapping(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(balancer_conf([(a.url, "route=n1"), (b.url, "route=n2")], name="Mixed.Case",
                            proxyset="stickysession=JSESSIONID"))
    cl = Client(h.port)
    status, headers, body, _ = cl.request("/redirect", headers={"Cookie": "JSESSIONID=s.n2"})
    assert status == 302
    assert field(body, "backend") == "b"
    # ProxyPassReverse / balancer://.../ maps the member's Location back to the front.
    assert headers["Location"] == f"http://127.0.0.1:{h.port}/target"
    cl.request("/fresh")
    log = h.access_entries(at_least=2)
    assert re.search(rf"name=balancer://mixed.case worker={b.url} wroute=n2 sticky=JSESSIONID "
                     r"sroute=n2 changed=-", log[0]), log[0]
    assert re.search(r"wroute=n[12] sticky=- sroute=- changed=1", log[1]), log[1]


def test_environment_is_replaced_not_doubled(backends, httpd):
    # The BALANCER_* variables are added without a search while none is set; a
    # SetEnv of one, or a failover's second attempt, must still replace, not add.
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(balancer_conf([(a.url, "route=n1 retry=30"), (b.url, "route=n2 retry=30")],
                            proxyset="stickysession=JSESSIONID",
                            extra="SetEnv BALANCER_WORKER_ROUTE preset"))
    h.allowed = MEMBER_DOWN
    cl = Client(h.port)
    b.stop()
    # First request for b's session: b refuses the connection, a serves it.
    status, _, body, _ = cl.request("/s", headers={"Cookie": "JSESSIONID=x.n2"})
    assert status == 200 and field(body, "backend") == "a"
    status, _, body, _ = cl.request("/t")
    assert status == 200 and field(body, "backend") == "a"
    log = h.access_entries(at_least=2)
    assert re.search(rf"worker={a.url} wroute=n1 sticky=JSESSIONID sroute=n2 changed=1",
                     log[0]), log[0]
    assert re.search(rf"worker={a.url} wroute=n1 sticky=- sroute=- changed=1", log[1]), log[1]


def test_unknown_route_and_hostile_values_are_balanced(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(balancer_conf([(a.url, "route=n1"), (b.url, "route=n2")],
                            proxyset="stickysession=JSESSIONID|jsessionid"))
    cl = Client(h.port)
    hostile = [
        {"Cookie": "JSESSIONID=abc.nosuch"},
        {"Cookie": "JSESSIONID=" + "x" * 5000 + ".n1"},
        {"Cookie": "; ".join(f"JSESSIONID=s{i}.zz{i}" for i in range(50))},
        {"Cookie": "JSESSIONID="},
        {"Cookie": "JSESSIONID=.."},
        {"Cookie": "JSESSIONID=a.n1\tx"},
        {"Cookie": "XJSESSIONID=a.n1"},
        {"Cookie": "JSESSIONID=a.%6e1"},
    ]
    for headers in hostile:
        counts, statuses = spread(cl, 4, headers=headers, threads=2)
        assert statuses == {200: 4}, headers
        assert set(counts) == {"a", "b"}, (headers, counts)
    for path in ["/x;jsessionid=", "/x;xjsessionid=a.n1", "/x/jsessionid=a.n1",
                 "/x;jsessionid=" + "y" * 5000 + ".n1", "/x?q=jsessionid=a.n1"]:
        counts, statuses = spread(cl, 4, path=path, threads=2)
        assert statuses == {200: 4}, path
        assert set(counts) == {"a", "b"}, (path, counts)
    # mod_proxy hands the balancer the decoded path (as it does to stock), so a
    # percent-encoded route in the path is the route itself.
    counts, statuses = spread(cl, 4, path="/x;jsessionid=a.%6e1", threads=2)
    assert statuses == {200: 4} and counts == {"a": 4}


@pytest.mark.parametrize("mpm", MPMS)
def test_failover_when_a_member_stops(backends, httpd, mpm):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(balancer_conf([(a.url, "route=n1 retry=30"), (b.url, "route=n2 retry=30"),
                             (c.url, "route=n3 retry=30")],
                            proxyset="stickysession=JSESSIONID"), mpm=mpm)
    h.allowed = MEMBER_DOWN
    cl = Client(h.port)
    b.stop()
    counts, statuses = spread(cl, 90)
    assert statuses == {200: 90}
    assert set(counts) == {"a", "c"}
    # A request with a body survives the failover.
    for _ in range(6):
        status, _, body, _ = cl.request("/post", method="POST", body=b"z" * 70000,
                                        headers={"Content-Type": "application/octet-stream"})
        assert status == 200 and field(body, "body") == "70000"
    # b's sessions move to the others, marked as a route change.
    status, _, body, _ = cl.request("/s", headers={"Cookie": "JSESSIONID=old.n2"})
    assert status == 200 and field(body, "backend") in ("a", "c")
    assert "sroute=n2 changed=1" in h.access_entries(at_least=97)[-1]


def test_nofailover_gives_503(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(balancer_conf([(a.url, "route=n1"), (b.url, "route=n2")],
                            proxyset="stickysession=JSESSIONID nofailover=On"))
    h.allowed = [r"ISB00010"] + MEMBER_DOWN
    cl = Client(h.port)
    b.stop()
    # Take b into error state by sending new sessions until one reaches it.
    spread(cl, 6)
    status, _, _, _ = cl.request("/", headers={"Cookie": "JSESSIONID=s.n2"})
    assert status == 503
    status, _, body, _ = cl.request("/", headers={"Cookie": "JSESSIONID=s.n1"})
    assert status == 200 and field(body, "backend") == "a"
    assert "ISB00010" in h.error_log.read_text()


def test_hot_standby_and_lbset_tiers(backends, httpd):
    a, b, s, t1 = backends("a", "b", "standby", "tier1")
    h = httpd(balancer_conf([(a.url, "retry=30"), (b.url, "retry=30"),
                             (s.url, "status=+H retry=30"), (t1.url, "lbset=1")]))
    h.allowed = MEMBER_DOWN
    cl = Client(h.port)
    counts, _ = spread(cl, 40)
    assert set(counts) == {"a", "b"}
    a.stop()
    counts, statuses = spread(cl, 40)
    assert statuses == {200: 40} and set(counts) == {"b"}
    b.stop()
    counts, statuses = spread(cl, 40)
    assert statuses == {200: 40} and set(counts) == {"standby"}
    s.stop()
    counts, statuses = spread(cl, 40)
    assert statuses == {200: 40} and set(counts) == {"tier1"}


def test_hot_spare_stands_in_for_a_stopped_member(backends, httpd):
    a, b, r = backends("a", "b", "spare")
    h = httpd(balancer_conf([(a.url, "retry=30"), (b.url, "retry=30"),
                             (r.url, "status=+R retry=30")]))
    h.allowed = MEMBER_DOWN
    cl = Client(h.port)
    counts, _ = spread(cl, 40)
    assert set(counts) == {"a", "b"}
    b.stop()
    counts, statuses = spread(cl, 40)
    # The spare takes b's share, not all of it: a keeps its own.
    assert statuses == {200: 40} and set(counts) == {"a", "spare"}
    assert abs(counts["a"] - counts["spare"]) <= 6, counts


def test_drain_takes_only_its_own_sessions(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(balancer_conf([(a.url, "route=n1"), (b.url, "route=n2 status=+N")],
                            proxyset="stickysession=JSESSIONID"))
    cl = Client(h.port)
    counts, _ = spread(cl, 30)
    assert counts == {"a": 30}
    counts, _ = spread(cl, 30, headers={"Cookie": "JSESSIONID=x.n2"})
    assert counts == {"b": 30}


def test_recovery_after_retry(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(balancer_conf([(a.url, "retry=1"), (b.url, "retry=1")]))
    h.allowed = MEMBER_DOWN
    cl = Client(h.port)
    b.stop()
    counts, _ = spread(cl, 20)
    assert counts == {"a": 20}
    b.start()
    # Still in error until its retry interval has passed.
    counts, _ = spread(cl, 6, threads=1)
    assert counts == {"a": 6}
    time.sleep(1.3)
    counts, _ = spread(cl, 20)
    assert counts["b"] >= 8, counts


def test_failonstatus_puts_member_into_error(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(balancer_conf([(a.url, "retry=30"), (b.url, "retry=30")],
                            proxyset="failonstatus=503"))
    h.allowed = [r"ISB00012", r"ISB00014"]
    cl = Client(h.port)
    statuses = collections.Counter(cl.request("/status/503")[0] for _ in range(2))
    assert statuses == {503: 2}
    # Both answered 503 once, so both are in error: forcerecovery brings them back.
    counts, statuses = spread(cl, 10)
    assert statuses == {200: 10}
    log = h.error_log.read_text()
    assert log.count("ISB00012") == 2
    assert log.count("ISB00014") == 1  # forcerecovery fired once


@pytest.mark.parametrize("method", ["bybusyness", "bytraffic", "leastrequest", "bylatency"])
def test_other_lbmethods(backends, httpd, method):
    a, b = backends("a", "b")
    h = httpd(balancer_conf([(a.url, ""), (b.url, "")], proxyset=f"lbmethod={method}"))
    counts, statuses = spread(Client(h.port), 200)
    assert statuses == {200: 200}
    assert counts["a"] > 40 and counts["b"] > 40, counts


@pytest.mark.parametrize("method,delay_ms,most", [
    # 100 ms on one of three members: byrequests would send it a third (100); bylatency
    # sends it the first requests, while it has no estimate, then a probe every ~1.3 s.
    ("bylatency", 100, 20),
    # 500 ms: it holds a request in flight while the others answer in a few ms, so
    # every pair that draws it picks the other member, unless both are idle.
    ("leastrequest", 500, 25),
])
def test_new_methods_steer_clear_of_a_slow_member(backends, httpd, method, delay_ms, most):
    a, b, slow = backends("a", "b", "slow")
    h = httpd(balancer_conf([(a.url, ""), (b.url, ""), (slow.url, "")],
                            proxyset=f"lbmethod={method}"))
    n = 300
    counts, statuses = spread(Client(h.port), n, path=f"/sleepif/slow/{delay_ms}", threads=6)
    assert statuses == {200: n}
    assert counts["slow"] <= most, counts
    assert counts["a"] > 80 and counts["b"] > 80, counts


def test_maxattempts_zero_does_not_fail_over(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(balancer_conf([(a.url, "retry=30"), (b.url, "retry=30")],
                            proxyset="maxattempts=0"))
    h.allowed = MEMBER_DOWN
    b.stop()
    counts, statuses = spread(Client(h.port), 10, threads=1)
    assert statuses[503] >= 1 and statuses[200] >= 1


def test_timeout_waits_for_a_member(backends, httpd):
    (a,) = backends("a")
    h = httpd(balancer_conf([(a.url, "retry=1")], proxyset="timeout=3 forcerecovery=Off"))
    h.allowed = MEMBER_DOWN
    cl = Client(h.port)
    a.stop()
    assert cl.request("/")[0] == 503  # puts a into error
    a.start()
    t0 = time.monotonic()
    status, _, body, _ = cl.request("/")
    # The balancer waited until a's retry interval passed instead of failing at once.
    assert status == 200, body
    assert 0.5 < time.monotonic() - t0 < 3.5


def test_failontimeout_puts_member_into_error(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(balancer_conf([(a.url, "retry=30 timeout=1"), (b.url, "retry=30 timeout=1")],
                            proxyset="failontimeout=On forcerecovery=Off"))
    h.allowed = [r"ISB00013", r"AH01102", r"AH00898"]  # mod_proxy_http: read timed out
    cl = Client(h.port)
    status, _, _, _ = cl.request("/sleep/2500", headers={"Cookie": "x=1"})
    assert status in (502, 504)  # mod_proxy_http decides which
    log = h.error_log.read_text()
    assert log.count("ISB00013") == 1
    slow = re.search(r"member (http://127.0.0.1:\d+) put into error", log).group(1)
    # The member that timed out takes nothing until its retry interval has passed.
    counts, statuses = spread(cl, 10)
    assert statuses == {200: 10}
    assert set(counts) == {"a" if slow == b.url else "b"}


def test_redirect_sends_sessions_of_a_disabled_member_to_its_redirect(backends, httpd):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(balancer_conf([(a.url, "route=n1 redirect=n3 status=+D"), (b.url, "route=n2"),
                             (c.url, "route=n3")], proxyset="stickysession=JSESSIONID"))
    counts, statuses = spread(Client(h.port), 20, headers={"Cookie": "JSESSIONID=s.n1"})
    assert statuses == {200: 20} and counts == {"c": 20}
    entries = h.access_entries(at_least=20)
    assert all("wroute=n3 sticky=JSESSIONID sroute=n1 changed=1" in l for l in entries)

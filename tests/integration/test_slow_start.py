"""Slow start and our own directives, against a real httpd: a member that comes
back into service earns its share of new requests over the window (every child
sees one ramp), the window is set with ISBalancerSet / ISBalancerMemberSet and
the balancer-manager, and a wrong line stops httpd with a message that names the
directive, the value and what it takes."""
import json
import time
import urllib.parse

import pytest

from harness import MANAGER, Client, field, wait_for


def conf(members, inside="", outside=""):
    lines = ['<Proxy "balancer://c">']
    lines += [f'    BalancerMember "{url}" {params}' for url, params in members]
    lines += [f"    {inside}" if inside else "", "</Proxy>", outside,
              'ProxyPass "/" "balancer://c/"']
    return "\n".join(lines) + MANAGER


def manager(h):
    cl = Client(h.port)
    _, _, body, _ = cl.request("/balancer-manager?format=json")
    (bal,) = json.loads(body)["balancers"]

    def post(fields):
        fields = {"b": "c", "nonce": bal["nonce"], **fields}
        return cl.request("/balancer-manager", method="POST",
                          body=urllib.parse.urlencode(fields),
                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                   "Referer": f"http://127.0.0.1:{h.port}/balancer-manager"})
    return post


def member_docs(h):
    _, _, body, _ = Client(h.port).request("/balancer-manager?format=json")
    (bal,) = json.loads(body)["balancers"]
    return bal["members"]


def served_by(h):
    status, _, body, _ = Client(h.port).request("/x")  # a new connection each time
    return field(body, "backend") if status == 200 else f"status {status}"


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_a_member_back_in_service_ramps_over_the_window(backends, httpd, mpm):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")],
                   outside="ISBalancerSet balancer://c slowstart=4"), mpm=mpm)
    post = manager(h)
    assert post({"w": b.url, "w_status_D": "1"})[0] == 200
    assert {served_by(h) for _ in range(6)} == {"a"}  # b is seen out of service
    assert post({"w": b.url, "w_status_D": "0"})[0] == 200
    start = time.monotonic()
    (m,) = [m for m in member_docs(h) if m["route"] == "n2"]
    assert m["slowstart_s"] == 4 and m["in_service_since_us"] > 0, m
    assert m["effective_loadfactor"] < m["loadfactor"] == 1, m
    buckets = {}  # whole seconds since b came back: [requests, of which b]
    while (elapsed := time.monotonic() - start) < 5.5:
        got = buckets.setdefault(int(elapsed), [0, 0])
        got[0] += 1
        got[1] += served_by(h) == "b"
    share = {sec: got[1] / got[0] for sec, got in buckets.items() if got[0] >= 20}
    print("b share by second:", {s: round(v, 2) for s, v in share.items()}, buckets)
    # byrequests shares by weight: b has 10 % of its weight for the first 0.4 s,
    # then t/4 of it, so its share of new requests is 9 % -> 20 % in the first
    # second (12 % measured), about 38 % in the third, and half once the window
    # is over.
    done = [sum(buckets[s][i] for s in (4, 5) if s in buckets) for i in (0, 1)]
    assert share[0] < 0.2, share
    assert 0.3 < share[2] < 0.46, share
    assert 0.44 < done[1] / done[0] < 0.56, share


def test_the_window_is_a_member_setting_of_ours(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")],
                   inside=f"ISBalancerMemberSet {b.url} slowstart=60"))
    _, _, page, _ = Client(h.port).request("/balancer-manager")
    assert 'name="w_slow" value="60"' in page  # b's own
    assert 'name="w_slow" value="0"' in page   # a: none
    status, _, page, _ = manager(h)({"w": a.url, "w_slow": "30"})
    assert status == 200, page
    assert 'name="w_slow" value="30"' in page
    status, _, body, _ = manager(h)({"w": a.url, "w_slow": "3601"})
    assert status == 400 and "w_slow" in body and "0 to 3600" in body


@pytest.mark.parametrize("inside, outside, says", [
    ("ISBalancerSet slowstart=abc", "",
     "ISBalancerSet: 'slowstart=abc': slowstart must be seconds from 0 to 3600"),
    ("ISBalancerSet loadfactor=2", "",
     "ISBalancerSet: loadfactor is mod_proxy's; set it on the BalancerMember line"),
    ("ISBalancerSet slowstart", "", "'slowstart' is not key=value; it takes slowstart"),
    ("", "ISBalancerSet slowstart=5",
     "ISBalancerSet outside <Proxy balancer://...> names its balancer first"),
    ("ISBalancerMemberSet slowstart=5", "", "give the member's URL"),
    ("", '<Location "/x">\n    ISBalancerSet slowstart=5\n</Location>',
     "ISBalancerSet belongs in a <Proxy balancer://...> section"),
])
def test_a_wrong_line_is_refused_when_the_configuration_is_read(backends, httpd, inside,
                                                                outside, says):
    (a,) = backends(("a", "n1"))
    h = httpd(conf([(a.url, "route=n1")], inside=inside, outside=outside), start=False)
    h.write_config()
    rc, err = h.try_start()
    assert rc != 0 and says in err, err


@pytest.mark.parametrize("inside, outside, says", [
    ("ISBalancerMemberSet http://127.0.0.1:1 slowstart=5", "",
     "ISBalancerMemberSet names http://127.0.0.1:1, which is not a BalancerMember of "
     "balancer://c"),
    ("", "ISBalancerSet balancer://other slowstart=5",
     "ISBalancerSet names balancer://other, which no <Proxy> section or ProxyPass of this "
     "server or virtual host defines"),
    ("ISBalancerSet slowstart=5\n    ISBalancerSet slowstart=7", "",
     "slowstart of balancer://c is given already, at"),
])
def test_a_line_that_names_nothing_fails_the_configuration_test(backends, httpd, inside,
                                                               outside, says):
    """`apachectl -t` (which `apachectl graceful` runs first) catches it, not only a
    start."""
    (a,) = backends(("a", "n1"))
    h = httpd(conf([(a.url, "route=n1")], inside=inside, outside=outside), start=False)
    h.write_config()
    test = h._ctl("-t", check=False)
    assert test.returncode != 0 and "ISB00048" in test.stderr and says in test.stderr, test
    rc, err = h.try_start()
    assert rc != 0 and says in err, err


def test_a_trailing_slash_names_the_same_balancer(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    body = conf([(a.url, "route=n1"), (b.url, "route=n2")]).replace(
        '<Proxy "balancer://c">', '<Proxy "balancer://c/">')
    body = body.replace("</Proxy>", "    ISBalancerSet slowstart=9\n</Proxy>", 1)
    h = httpd(body)
    _, _, page, _ = Client(h.port).request("/balancer-manager")
    assert page.count('name="w_slow" value="9"') == 2


@pytest.mark.parametrize("window_first", [True, False])
def test_a_member_back_while_no_request_came_still_ramps(backends, httpd, window_first):
    """Out and back with no traffic in between (the parent's once-a-second look,
    or the edit itself, tells the clock); and a window set while the member is out
    ramps it as well."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]))
    post = manager(h)
    if window_first:
        assert post({"w": b.url, "w_slow": "4"})[0] == 200
    assert post({"w": b.url, "w_status_D": "1"})[0] == 200
    time.sleep(1.5)  # no request at all while b is out
    if not window_first:
        assert post({"w": b.url, "w_slow": "4"})[0] == 200
    assert post({"w": b.url, "w_status_D": "0"})[0] == 200
    got = [served_by(h) for _ in range(400)]
    assert got.count("b") < 0.2 * len(got), got.count("b")


def test_a_health_check_recovery_with_no_traffic_ramps(backends, httpd):
    """mod_proxy_hcheck clears the flag in its watchdog, unseen by any request; the
    parent's once-a-second look at every member starts the clock."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    check = "hcmethod=GET hcuri=/health hcinterval=1 hcpasses=1 hcfails=1"
    h = httpd(conf([(a.url, f"route=n1 {check}"), (b.url, f"route=n2 {check}")],
                   inside="ISBalancerSet slowstart=6"), modules=("proxy_hcheck",))

    def failed():
        _, _, body, _ = Client(h.port).request("/balancer-manager?format=json")
        (bal,) = json.loads(body)["balancers"]
        (m,) = [m for m in bal["members"] if m["route"] == "n2"]
        return m["status"]["hcheck_failed"]

    Client(b.port).request("/health/set/500")
    wait_for(failed, timeout=15, what="the health check to fail n2")
    time.sleep(1.5)  # no balanced request while n2 is out
    Client(b.port).request("/health/set/200")
    wait_for(lambda: not failed(), timeout=15, what="the health check to pass n2 again")
    got = [served_by(h) for _ in range(300)]
    assert got.count("b") < 0.25 * len(got), got.count("b")


def test_slowstartatstart_ramps_a_member_from_httpds_start(backends, httpd):
    """By default a member in service when httpd starts takes its full share at
    once; slowstartatstart=1 ramps it from the start too (a node that boots with
    httpd)."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")],
                   inside="ISBalancerSet slowstart=30\n"
                          f"    ISBalancerMemberSet {b.url} slowstartatstart=1"))
    docs = {m["route"]: m for m in member_docs(h)}
    assert docs["n1"]["in_service_since_us"] == 0 and not docs["n1"]["slowstartatstart"]
    assert docs["n2"]["in_service_since_us"] > 0 and docs["n2"]["slowstartatstart"], docs
    assert docs["n2"]["effective_loadfactor"] < 0.2, docs["n2"]
    got = [served_by(h) for _ in range(100)]
    assert got.count("b") < 20, got.count("b")  # about 10 of 110 at 10 %
    _, _, page, _ = Client(h.port).request("/balancer-manager")
    assert 'name="w_slowinit"' in page


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_a_restarted_node_ramps_back_after_its_retry(backends, httpd, mpm):
    """The node itself goes away and comes back (a JVM restart): mod_proxy puts it
    into error on the first refused connection, lets it back after retry=1, and
    from then its share of new requests follows the ramp, in every child."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2 retry=1")],
                   inside="ISBalancerSet slowstart=4"), mpm=mpm)
    h.allowed = [r"AH00957", r"AH00959", r"AH01114", r"AH00940", r"AH01102"]
    b.stop()
    assert {served_by(h) for _ in range(10)} == {"a"}  # b failed over, then in error
    b.start()
    time.sleep(1.2)  # its retry interval ends
    start = time.monotonic()
    first = [served_by(h) for _ in range(60)]
    assert time.monotonic() - start < 1.5, "too slow to see the ramp's first second"
    assert first.count("b") < 0.2 * len(first), first.count("b")
    (m,) = [m for m in member_docs(h) if m["route"] == "n2"]
    assert m["in_service_since_us"] > 0 and m["effective_loadfactor"] < 1, m
    time.sleep(max(0.0, start + 4.2 - time.monotonic()))
    later = [served_by(h) for _ in range(100)]
    assert 0.38 < later.count("b") / len(later) < 0.62, later.count("b")

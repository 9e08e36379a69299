"""Outlier ejection against a real httpd, real backends, event and prefork: a
member that starts answering 503 is ejected after exactly its threshold of
answers, counted across children; it is shown so in the page, the JSON and
Prometheus; its sessions fail over; it comes back after the backoff, ramping;
the cap keeps half of a balancer in when three of four members fail; and a
member that cannot be reached is ejected from its failovers alone."""
import json
import urllib.parse
import re
import time

import pytest

from harness import MANAGER, Client, field, free_port, wait_for


# Ejections (ISB00050) and the cap holding one back (ISB00051) are warnings;
# mod_proxy's own for a member it cannot reach.
EJECTION = [r"ISB00050", r"ISB00051"]
MEMBER_DOWN = [r"AH00957", r"AH00959", r"AH01114", r"AH00940"]


def conf(members, inside="", extra=""):
    lines = ['<Proxy "balancer://c">']
    lines += [f'    BalancerMember "{url}" {params}' for url, params in members]
    lines += [f"    {inside}", "</Proxy>", extra, 'ProxyPass "/" "balancer://c/"']
    return "\n".join(lines) + MANAGER


def members(h):
    _, _, body, _ = Client(h.port).request("/balancer-manager?format=json")
    (bal,) = json.loads(body)["balancers"]
    return {m["route"]: m for m in bal["members"]}


def served_by(h, path="/x", headers=None):
    """Who answered one request on a new connection (so prefork spreads them over
    its children), and with what status."""
    status, _, body, _ = Client(h.port).request(path, headers=headers or {})
    return field(body, "backend"), status


def failing(backend, status=503, percent=100):
    got = Client(backend.port).request(f"/fail/set/{status}/{percent}")
    assert got[0] == 200, got


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_a_failing_member_is_ejected_across_children_and_ramps_back(backends, httpd, mpm):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2"), (c.url, "route=n3")],
                   inside="ISBalancerSet eject5xx=4 ejecttime=3 slowstart=4 ejectpercent=50"),
              mpm=mpm)
    h.allowed = EJECTION
    failing(c)
    # Sequential requests on new connections, spread over the children: c
    # answers 503 exactly four times, then gets nothing.
    seen = [served_by(h) for _ in range(60)]
    from_c = [s for name, s in seen if name == "c"]
    assert from_c == [503] * 4, seen
    assert all(s == 200 for name, s in seen if name != "c"), seen
    m = members(h)["n3"]
    assert m["ejected"] and m["ejections"] == 1, m
    assert 2e6 < m["ejected_until_us"] - time.time() * 1e6 <= 3e6, m
    assert m["consecutive_5xx"] == 0 and m["usable"], m  # its flags are untouched
    line = [ln for ln in h.log_problems() if "ISB00050" in ln]
    assert len(line) == 1 and "after 4 consecutive 5xx answers" in line[0], h.log_tail()
    status, _, prom, _ = Client(h.port).request("/balancer-manager?format=prometheus")
    assert re.search(r'isbalancer_member_ejected\{[^}]*route="n3"\} 1\n', prom), prom
    assert re.search(r'isbalancer_member_ejections_total\{[^}]*route="n3"\} 1\n', prom)
    _, _, page, _ = Client(h.port).request("/balancer-manager")
    assert re.search(r'data-k="ejected">until [0-9: -]+ UTC \(1 time\)</td>', page), page
    # A session of c fails over (ejectsessions=0), as for a member in error.
    name, status = served_by(h, headers={"Cookie": "JSESSIONID=ABC.n3"})
    assert name in ("a", "b") and status == 200

    # c recovers; once its 3 s are over it is back, at 10 % of its weight first.
    failing(c, 0)
    wait_for(lambda: not members(h)["n3"]["ejected"], timeout=5, what="the ejection to end")
    start = time.monotonic()
    first = [served_by(h)[0] for _ in range(100)]
    assert time.monotonic() - start < 1.5, "too slow to measure the ramp's first second"
    assert first.count("c") < 15, first.count("c")  # about 4 in 100 at 10 %
    time.sleep(max(0.0, start + 4.2 - time.monotonic()))
    later = [served_by(h)[0] for _ in range(150)]
    assert 35 <= later.count("c") <= 65, later.count("c")  # its third again
    assert members(h)["n3"]["ejections"] == 1


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_the_cap_keeps_half_the_members_in_when_three_of_four_fail(backends, httpd, mpm):
    bs = backends(("a", "n1"), ("b", "n2"), ("c", "n3"), ("d", "n4"))
    h = httpd(conf([(x.url, f"route={x.route}") for x in bs],
                   inside="ISBalancerSet eject5xx=2 ejecttime=60 ejectpercent=50"), mpm=mpm)
    h.allowed = EJECTION
    for x in bs[1:]:
        failing(x)
    seen = [served_by(h) for _ in range(80)]
    ms = members(h)
    ejected = sorted(r for r, m in ms.items() if m["ejected"])
    assert len(ejected) == 2 and "n1" not in ejected, ms
    (kept,) = [r for r in ("n2", "n3", "n4") if r not in ejected]
    assert ms[kept]["ejections_capped"] >= 1 and not ms[kept]["ejected"], ms[kept]
    # The balancer keeps serving: a's 200s and the kept member's 503s, nothing else.
    tail = seen[-40:]
    assert {name for name, _ in tail} == {"a", {"n2": "b", "n3": "c", "n4": "d"}[kept]}, tail
    assert sum(1 for _, s in tail if s == 200) >= 18, tail
    capped = [ln for ln in h.log_problems() if "ISB00051" in ln]
    assert capped and "2 of 4 members are out already and ejectpercent allows 2" in capped[0]


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_a_member_that_cannot_be_reached_is_ejected_from_its_failovers(backends, httpd, mpm):
    """Connection refused: mod_proxy fails the request over to another member,
    and post_request never sees the refusal; the failover itself counts it."""
    (a,) = backends(("a", "n1"))
    dead = f"http://127.0.0.1:{free_port()}"
    # retry=0: mod_proxy lets the dead member straight back after each error,
    # so without ejection it would be tried on every other request.
    h = httpd(conf([(a.url, "route=n1"), (dead, "route=n2 retry=0")],
                   inside="ISBalancerSet ejectgateway=3 ejecttime=60 ejectpercent=50"), mpm=mpm)
    h.allowed = EJECTION + MEMBER_DOWN
    seen = [served_by(h) for _ in range(40)]
    assert all(s == 200 and name == "a" for name, s in seen), seen
    m = members(h)["n2"]
    assert m["ejected"] and m["ejections"] == 1, m
    elected = m["elected"]
    assert elected == 3, m  # three failovers from it, then no more tries
    [served_by(h) for _ in range(20)]
    assert members(h)["n2"]["elected"] == elected
    line = [ln for ln in h.log_problems() if "ISB00050" in ln]
    assert line and "after 3 consecutive gateway failures" in line[0], h.log_tail()


def test_ejection_settings_are_member_settings_of_ours(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")],
                   inside=f"ISBalancerSet eject5xx=5 ejectpercent=20\n"
                          f"    ISBalancerMemberSet {b.url} eject5xx=9 ejectsessions=1"))
    _, _, page, _ = Client(h.port).request("/balancer-manager")
    assert 'name="w_e5xx" value="5"' in page and 'name="w_e5xx" value="9"' in page, page
    assert 'name="b_epct" value="20"' in page
    _, _, body, _ = Client(h.port).request("/balancer-manager?format=json")
    (bal,) = json.loads(body)["balancers"]
    assert not bal["differs"], bal


def test_an_operator_ends_an_ejection_by_putting_the_member_back(backends, httpd):
    """A fixed node need not wait out its ejection: disabling and enabling it in the
    manager (or turning its ejection off) ends it. ejectmaxtime is the longest an
    ejection lasts, even below ejecttime."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")],
                   inside="ISBalancerSet eject5xx=2 ejecttime=600 ejectmaxtime=120 "
                          "ejectpercent=50"))
    h.allowed = EJECTION
    failing(b)
    [served_by(h) for _ in range(10)]
    m = members(h)["n2"]
    assert m["ejected"] and 110e6 < m["ejected_until_us"] - time.time() * 1e6 <= 120e6, m
    failing(b, 0)  # the operator fixes the node ...
    _, _, body, _ = Client(h.port).request("/balancer-manager?format=json")
    nonce = json.loads(body)["balancers"][0]["nonce"]

    def post(fields):
        return Client(h.port).request(
            "/balancer-manager", method="POST",
            body=urllib.parse.urlencode({"b": "c", "w": b.url, "nonce": nonce, **fields}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Referer": f"http://127.0.0.1:{h.port}/balancer-manager"})
    assert post({"w_lf": "2"})[0] == 200  # another change leaves it out
    assert members(h)["n2"]["ejected"]
    assert post({"w_status_D": "1"})[0] == 200  # ... disables and enables it
    status, _, page, _ = post({"w_status_D": "0"})
    assert status == 200 and "ejection ended" in page, page
    m = members(h)["n2"]
    assert not m["ejected"] and m["ejected_until_us"] == 0 and m["ejections"] == 1, m
    assert "b" in {served_by(h)[0] for _ in range(12)}


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_a_member_failing_every_second_request_is_ejected_by_its_failure_rate(backends,
                                                                             httpd, mpm):
    """Every second answer a 503: never a run of two, so eject5xx=3 leaves it in;
    ejectfailpercent=40 over about 20 answers ejects it, counted across children."""
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2"), (c.url, "route=n3")],
                   inside="ISBalancerSet eject5xx=3 ejectfailpercent=40 ejectminrequests=20 "
                          "ejecttime=60 ejectpercent=50"), mpm=mpm)
    h.allowed = EJECTION
    failing(c, 503, 50)
    seen = [served_by(h) for _ in range(120)]
    from_c = [s for name, s in seen if name == "c"]
    # The moving share (weight 1/20) passes 40 % at c's 30th answer, its 15th 503:
    # ejected there, not later (tests/unit/health/test_ejection.cpp has the numbers).
    assert len(from_c) == 30 and from_c.count(503) == 15, from_c
    m = members(h)["n3"]
    assert m["ejected"] and m["ejections"] == 1 and m["ejectfailpercent"] == 40, m
    line = [ln for ln in h.log_problems() if "ISB00050" in ln]
    assert len(line) == 1 and "after a 5xx share of 40 % over its last 20 or so answers" in \
        line[0], line

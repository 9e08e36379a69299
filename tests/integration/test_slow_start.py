"""Slow start and our own directives, against a real httpd: a member that comes
back into service earns its share of new requests over the window (every child
sees one ramp), the window is set with ISBalancerSet / ISBalancerMemberSet and
the balancer-manager, and a wrong line stops httpd with a message that names the
directive, the value and what it takes."""
import json
import time
import urllib.parse

import pytest

from harness import MANAGER, Client, field


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
     "ISBalancerSet names balancer://other, which has no BalancerMember in this server"),
])
def test_a_line_that_names_nothing_stops_httpd(backends, httpd, inside, outside, says):
    (a,) = backends(("a", "n1"))
    h = httpd(conf([(a.url, "route=n1")], inside=inside, outside=outside), start=False)
    h.write_config()
    rc, err = h.try_start()
    assert rc != 0, err
    assert says in h.log_tail(20) + err
    h.allowed = ["ISB00048", "AH00016"]

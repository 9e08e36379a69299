"""Several JSESSIONID cookies in one request (issue 13): a browser holds one per
path (`/` and `/app`), or a stale one from a node that is gone. Stock takes the
first; we take the first whose route names a member that can take the session,
and otherwise the first, as stock. Under event and prefork."""
import re

import pytest

from harness import Client, balancer_conf, field, wait_for

MPMS = ["event", "prefork"]


def members(a, b, c, b_params=""):
    return [(a.url, "route=n1"), (b.url, f"route=n2 {b_params}".strip()), (c.url, "route=n3")]


@pytest.mark.parametrize("mpm", MPMS)
def test_stale_first_cookie_gives_way_to_a_usable_one(backends, httpd, mpm):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(balancer_conf(members(a, b, c), proxyset="stickysession=JSESSIONID"), mpm=mpm)
    cl = Client(h.port)
    # A real session from n2, as the backend issued it.
    session = None
    for _ in range(30):
        status, _, body, cookie = cl.request("/login")
        assert status == 200
        if field(body, "backend") == "b":
            session = cookie.split(";")[0]
            break
    assert session and session.endswith(".n2"), session
    headers = [
        f"JSESSIONID=AAA.gone; {session}",                # a node that is gone
        f"JSESSIONID=AAA.gone;{session}",                 # no space
        f"a=1; JSESSIONID=noroute; b=2; {session}; c=3",  # a malformed first
        f"JSESSIONID=; JSESSIONID=AAA.gone, {session}",   # empty, legacy ','
    ]
    for cookie in headers:
        for _ in range(4):
            status, _, body, _ = cl.request("/app/x", headers={"Cookie": cookie})
            assert status == 200 and field(body, "backend") == "b", cookie
    # Two cookies that are both good: the first still wins.
    status, _, body, _ = cl.request("/app/x", headers={"Cookie": "JSESSIONID=S.n3; " + session})
    assert status == 200 and field(body, "backend") == "c"
    # The log has the /login requests too (as many as it took to get n2's
    # session): wait for the /app/x lines themselves, which a child writes
    # after answering.
    expected = len(headers) * 4 + 1

    def app_lines():
        return [ln for ln in h.access_entries() if '"GET /app/x ' in ln]
    wait_for(lambda: len(app_lines()) >= expected, timeout=5, what="the /app/x log lines")
    dup = app_lines()
    assert len(dup) == expected
    # Sent with n2's route, and not marked as a route change. Children log after
    # answering, so under prefork the lines need not be in request order.
    to_b = [ln for ln in dup if f"worker={b.url} " in ln]
    to_c = [ln for ln in dup if f"worker={c.url} " in ln]
    assert len(to_b) == len(headers) * 4 and len(to_c) == 1, dup
    for ln in to_b:
        assert re.search(r"wroute=n2 sticky=JSESSIONID sroute=n2 changed=-", ln), ln
    assert re.search(r"wroute=n3 sticky=JSESSIONID sroute=n3 changed=-", to_c[0]), to_c[0]


@pytest.mark.parametrize("mpm", MPMS)
def test_no_usable_cookie_balances_as_stock(backends, httpd, mpm):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(balancer_conf(members(a, b, c, "status=+D"), proxyset="stickysession=JSESSIONID"),
              mpm=mpm)
    cl = Client(h.port)
    seen = set()
    n = 12
    for _ in range(n):
        status, _, body, _ = cl.request(
            "/app/y", headers={"Cookie": "JSESSIONID=AAA.gone; JSESSIONID=BBB.n2"})
        assert status == 200
        seen.add(field(body, "backend"))
    assert seen == {"a", "c"}  # n2 is disabled: balanced over the others
    # As stock with the first cookie: its route, marked as a route change.
    for ln in h.access_entries(at_least=n):
        assert re.search(r"wroute=n[13] sticky=JSESSIONID sroute=gone changed=1", ln), ln


def test_many_cookies_of_the_name_are_bounded(backends, httpd):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(balancer_conf(members(a, b, c), proxyset="stickysession=JSESSIONID"))
    cl = Client(h.port)
    # The 8th cookie of the name is looked at; one after 8 stale ones is not.
    seven = "; ".join(f"JSESSIONID=S{i}.gone{i}" for i in range(7))
    status, _, body, _ = cl.request("/", headers={"Cookie": seven + "; JSESSIONID=X.n2"})
    assert status == 200 and field(body, "backend") == "b"
    many = "; ".join(f"JSESSIONID=S{i}.gone{i}" for i in range(250))
    seen = set()
    for _ in range(9):
        status, _, body, _ = cl.request("/", headers={"Cookie": many + "; JSESSIONID=X.n2"})
        assert status == 200
        seen.add(field(body, "backend"))
    assert len(seen) > 1  # balanced: the n2 cookie is past the bound

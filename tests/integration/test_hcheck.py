"""mod_proxy_hcheck with the module, as a user relies on it: a member whose health
URI starts failing is taken out by the health check (traffic leaves it, HcFl / C in
the page and hcheck_failed in the JSON), and comes back when it passes again.
Under event and prefork: the check runs in the parent's watchdog, and every child
must see its flag."""
import json

import pytest

from harness import MANAGER, Client, balancer_conf, field, wait_for


def member(h, route):
    _, _, body, _ = Client(h.port).request("/balancer-manager?format=json")
    (bal,) = json.loads(body)["balancers"]
    (m,) = [m for m in bal["members"] if m["route"] == route]
    return m


def spread(h, n=12):
    cl = Client(h.port)
    seen = {}
    for _ in range(n):
        status, _, body, _ = cl.request("/x")
        name = field(body, "backend") if status == 200 else f"status {status}"
        seen[name] = seen.get(name, 0) + 1
    return seen


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_a_failing_health_check_takes_a_member_out_and_back(backends, httpd, mpm):
    a, b = backends(("a", "n1"), ("b", "n2"))
    check = "hcmethod=GET hcuri=/health hcinterval=1 hcpasses=1 hcfails=1"
    h = httpd(balancer_conf([(a.url, f"route=n1 {check}"), (b.url, f"route=n2 {check}")])
              + MANAGER, mpm=mpm, modules=("proxy_hcheck",))
    assert spread(h) == {"a": 6, "b": 6}
    assert not member(h, "n1")["status"]["hcheck_failed"]

    Client(a.port).request("/health/set/500")
    wait_for(lambda: member(h, "n1")["status"]["hcheck_failed"], timeout=15,
             what="the health check to fail n1")
    m = member(h, "n1")
    assert not m["usable"] and "HcFl" in m["status_text"]
    assert not member(h, "n2")["status"]["hcheck_failed"]
    _, _, page, _ = Client(h.port).request("/balancer-manager")
    row = page[page.index(f'data-m="{a.url}"'):]
    assert "HcFl" in row[:row.index("</tr>")]
    # Several connections, so that requests reach more than one child.
    assert spread(h, 16) == {"b": 16}

    Client(a.port).request("/health/set/200")
    wait_for(lambda: not member(h, "n1")["status"]["hcheck_failed"], timeout=15,
             what="the health check to pass n1 again")
    assert member(h, "n1")["usable"]
    served = spread(h, 16)
    assert served.get("a", 0) >= 6 and sum(served.values()) == 16, served

"""Runtime edits stay with the virtual host they were made on. Two virtual hosts
on two ports share one ServerName (no port), each with its own balancer://app of
the same members and its own manager: an edit on one must never turn up on the
other, across a graceful restart with a changed configuration and across a full
restart with BalancerPersist On."""
import json

from harness import Client, free_port

MEMBERS = """
    <Proxy "balancer://app">
        BalancerMember "{a}" route=n1{extra}
        BalancerMember "{b}" route=n2
    </Proxy>
    ProxyPass "/balancer-manager" !
    ProxyPass "/" "balancer://app/"
    <Location "/balancer-manager">
        SetHandler balancer-manager
        Require local
    </Location>
"""


def config(a, b, port1, port2, extra="", persist=False):
    vhost = """
<VirtualHost 127.0.0.1:{port}>
    ServerName same.example
    {persist}
{members}
</VirtualHost>
"""
    out = ""
    for port, more in ((port1, extra), (port2, "")):
        out += vhost.format(port=port, persist="BalancerPersist On" if persist else "",
                            members=MEMBERS.format(a=a.url, b=b.url, extra=more))
    return out


def members(port):
    _, _, body, _ = Client(port).request("/balancer-manager?format=json")
    (bal,) = json.loads(body)["balancers"]
    return {m["route"] or m["name"]: m for m in bal["members"]}, bal["nonce"]


def edit(port, member, settings):
    _, nonce = members(port)
    status, _, body, _ = Client(port).request(
        "/balancer-manager", method="POST",
        body=json.dumps({"nonce": nonce, "balancer": "app", "member": member, "set": settings}),
        headers={"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"})
    assert status == 200, body


def start(backends, httpd, persist=False):
    a, b = backends(("a", "n1"), ("b", "n2"))
    port1, port2 = free_port(), free_port()
    h = httpd(config(a, b, port1, port2, persist=persist), port=port1,
              extra_top=f"Listen 127.0.0.1:{port2}")
    return h, a, b, port1, port2


def test_an_edit_stays_on_its_virtual_host_across_a_changed_graceful_restart(backends, httpd):
    h, a, b, port1, port2 = start(backends, httpd)
    edit(port1, a.url, {"disabled": True})
    assert members(port1)[0]["n1"]["status"]["disabled"]
    assert not members(port2)[0]["n1"]["status"]["disabled"]
    h.graceful(config(a, b, port1, port2, extra=" retry=30"))
    assert "ISB00023" in h.error_log.read_text()
    assert members(port1)[0]["n1"]["status"]["disabled"]
    assert not members(port2)[0]["n1"]["status"]["disabled"]


def test_a_persisted_edit_stays_on_its_virtual_host_across_a_full_restart(backends, httpd):
    h, a, b, port1, port2 = start(backends, httpd, persist=True)
    edit(port1, a.url, {"loadfactor": 5, "route": "vh1only"})
    edit(port2, b.url, {"lbset": 1})
    h.stop()
    h.start()
    one, _ = members(port1)
    two, _ = members(port2)
    assert one["vh1only"]["loadfactor"] == 5 and one["n2"]["lbset"] == 0
    assert two["n1"]["loadfactor"] == 1 and two["n2"]["lbset"] == 1
    assert "vh1only" not in two


def test_an_edit_two_virtual_hosts_could_own_is_skipped(backends, httpd, tmp_path):
    """A state file from before scopes named addresses says only "same.example:0":
    both virtual hosts fit, so its edit is applied to neither, and the log says so."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    port1, port2 = free_port(), free_port()
    h = httpd(config(a, b, port1, port2, persist=True), port=port1,
              extra_top=f"Listen 127.0.0.1:{port2}", start=False)
    state = h.root / "mod_isbalancer.state"
    state.write_text("isbalancer-state 1\n"
                     f"same.example:0\tb=app&w={a.url.replace(':', '%3A').replace('/', '%2F')}"
                     "&w_lf=9\n")
    h.allowed = [r"ISB00022"]
    h.start()
    assert members(port1)[0]["n1"]["loadfactor"] == 1
    assert members(port2)[0]["n1"]["loadfactor"] == 1
    assert "fits it; give each its own ServerName or address" in h.error_log.read_text()

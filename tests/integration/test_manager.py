"""The balancer-manager's views served by a real httpd: HTML, JSON and Prometheus,
and escaping of hostile configuration strings. Edits: test_manager_edit.py."""
import json
import time

from prometheus_client.parser import text_string_to_metric_families

from harness import Client, balancer_conf


def manager_conf(members, proxyset="stickysession=JSESSIONID"):
    return (balancer_conf(members, proxyset=proxyset, extra='ProxyPass "/balancer-manager" !')
            + """
<Location "/balancer-manager">
    SetHandler balancer-manager
    Require local
</Location>
""")


def test_views_agree_with_traffic(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(manager_conf([(a.url, "route=n1 loadfactor=1"), (b.url, "route=n2 loadfactor=3")]))
    cl = Client(h.port)
    for _ in range(8):
        assert cl.request("/x")[0] == 200
    for _ in range(5):
        assert cl.request("/x", headers={"Cookie": "JSESSIONID=s.n1"})[0] == 200

    # A request's busy count is released when its pool is cleaned up, just after
    # its response has gone out: wait (bounded) for the last ones.
    deadline = time.monotonic() + 5
    while True:
        status, headers, body, _ = cl.request("/balancer-manager?format=json")
        doc = json.loads(body)
        busy = [m["busy"] for bal in doc["balancers"] for m in bal["members"]]
        if not any(busy) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert doc["schema"] == "isbalancer.manager/1"
    (bal,) = doc["balancers"]
    assert bal["name"] == "balancer://c" and bal["lbmethod"] == "byrequests"
    assert bal["sticky"]["cookie"] == "JSESSIONID"
    members = {m["route"]: m for m in bal["members"]}
    assert set(members) == {"n1", "n2"}
    assert members["n1"]["name"] == a.url and members["n2"]["loadfactor"] == 3
    assert sum(m["elected"] for m in members.values()) == 13
    assert members["n1"]["sticky"] == 5 and members["n2"]["sticky"] == 0
    assert all(m["usable"] and m["busy"] == 0 for m in members.values())
    assert all(m["bytes_received"] > 0 for m in members.values())

    status, headers, body, _ = cl.request("/balancer-manager?format=prometheus")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body)}
    elected = {s.labels["route"]: s.value for s in families["isbalancer_member_elected"].samples}
    assert elected == {"n1": members["n1"]["elected"], "n2": members["n2"]["elected"]}
    assert families["isbalancer_member_elected"].type == "counter"
    assert families["isbalancer_member_up"].type == "gauge"
    assert {s.value for s in families["isbalancer_member_up"].samples} == {1.0}

    status, headers, body, _ = cl.request("/balancer-manager")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert a.url in body and b.url in body and "Init Ok" in body


def test_hostile_configuration_strings_are_escaped(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(manager_conf([(a.url, 'route="<script>alert(1)</script>"'),
                            (b.url, "route=x'\"><img/src=y>")]))
    cl = Client(h.port)
    _, _, html, _ = cl.request("/balancer-manager")
    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    _, _, body, _ = cl.request("/balancer-manager?format=json")
    assert "<" not in body
    routes = {m["route"] for m in json.loads(body)["balancers"][0]["members"]}
    # httpd keeps the quotes of key="value" in a parameter as part of the value.
    assert routes == {'"<script>alert(1)</script>"', "x'\"><img/src=y>"}
    _, _, text, _ = cl.request("/balancer-manager?format=prometheus")
    parsed = {s.labels["route"] for f in text_string_to_metric_families(text)
              if f.name == "isbalancer_member_up" for s in f.samples}
    assert parsed == routes

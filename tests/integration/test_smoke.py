from harness import Client, balancer_conf, field


def test_module_serves_balanced_requests(backends, httpd):
    a, b = backends(("a", "r1"), ("b", "r2"))
    h = httpd(balancer_conf([(a.url, "route=r1"), (b.url, "route=r2")]))
    c = Client(h.port)
    seen = set()
    for _ in range(10):
        status, headers, body, _ = c.request("/hello")
        assert status == 200, body
        seen.add(field(body, "backend"))
    assert seen == {"a", "b"}

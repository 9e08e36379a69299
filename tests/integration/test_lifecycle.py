"""Start-up checks, graceful restart, crash recovery."""
import pytest

from harness import MEMBER_DOWN, Client, balancer_conf, field


@pytest.mark.parametrize("module,name", [
    ("proxy_balancer", "proxy_balancer"),
    ("lbmethod_byrequests", "lbmethod_byrequests"),
    ("lbmethod_bybusyness", "lbmethod_bybusyness"),
])
def test_refuses_to_run_beside_stock_modules(httpd, module, name):
    extra = ["slotmem_shm", module] if module == "proxy_balancer" else [module]
    h = httpd(balancer_conf([("http://127.0.0.1:9", "")]), start=False, modules=extra)
    rc, err = h.try_start()
    assert rc != 0
    assert "ISB00001" in err and f"a2dismod {name}" in err, err


def test_needs_mod_proxy(httpd):
    h = httpd("", start=False)
    h.modules = [m for m in h.modules if not m.startswith("proxy")]
    h.write_config()
    rc, err = h.try_start()
    assert rc != 0
    assert "ISB00002" in err and "a2enmod proxy" in err, err


def test_lbmethods_are_registered_for_proxyset(httpd):
    h = httpd(balancer_conf([("http://127.0.0.1:9", "")], proxyset="lbmethod=nosuch"),
              start=False)
    rc, err = h.try_start()
    assert rc != 0 and "unknown lbmethod" in err.lower(), err
    for method in ("byrequests", "bybusyness", "bytraffic", "leastrequest", "bylatency"):
        h.write_config(balancer_conf([("http://127.0.0.1:9", "")], proxyset=f"lbmethod={method}"))
        res = h._ctl("-t", check=False)
        assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_graceful_restart_keeps_state_unless_config_changed(backends, httpd, mpm):
    a, b = backends("a", "b")
    conf = balancer_conf([(a.url, "retry=60"), (b.url, "retry=60")])
    h = httpd(conf, mpm=mpm)
    h.allowed = MEMBER_DOWN
    cl = Client(h.port)
    b.stop()
    for _ in range(4):
        assert cl.request("/")[0] == 200
    b.start()
    # b is still in error (retry=60) in the shared state; a graceful restart with
    # the same configuration keeps that state.
    h.graceful()
    assert "ISB00008" in h.error_log.read_text()
    seen = {field(cl.request("/")[2], "backend") for _ in range(10)}
    assert seen == {"a"}
    # A changed configuration starts from the new configuration.
    h.graceful(balancer_conf([(a.url, "retry=60 loadfactor=2"), (b.url, "retry=60")]))
    assert h.error_log.read_text().count("ISB00007") == 2
    seen = {field(cl.request("/")[2], "backend") for _ in range(10)}
    assert seen == {"a", "b"}


def test_start_after_parent_killed_with_sigkill(backends, httpd):
    a, b = backends("a", "b")
    conf = balancer_conf([(a.url, ""), (b.url, "")])
    h = httpd(conf)
    # Unclean shutdown leaves the pid file; httpd says so at the next start.
    h.allowed = [r"AH00098"]
    assert Client(h.port).request("/")[0] == 200
    h.kill9()
    h.start()
    seen = {field(Client(h.port).request("/")[2], "backend") for _ in range(6)}
    assert seen == {"a", "b"}


def test_stickysession_without_a_cookie_name_stops_httpd(httpd):
    """mod_proxy takes stickysession=|jsessionid as no cookie at all: stickiness
    would be off without a word. httpd refuses to start, naming the fix."""
    for value in ("|jsessionid", " |x", "JSESSIONID|x|y", "JSESSIONID||x"):
        h = httpd(balancer_conf([("http://127.0.0.1:9", "")], proxyset=f'"stickysession={value}"'),
                  start=False)
        h.allowed = [r"ISB00042"]
        rc, _ = h.try_start()
        log = h.error_log.read_text()
        assert rc != 0 and "ISB00042" in log and "stickysession=JSESSIONID|jsessionid" in log, (
            value, log)

"""The README's first command, end to end: scripts/demo.sh brings up the seed's
cluster (CA, two Tomcat 10 nodes with a jvmRoute, TLS front with mod_isbalancer)
on free ports; a TLS client that verifies the front against the demo CA checks
spread, stickiness by cookie and by ;jsessionid=, failover and recovery."""
import collections
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from harness import Client, field, free_port, new_sessions

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo.sh"


@pytest.fixture(scope="module", params=["tomcat", "builtin"])
def demo(request, tmp_path_factory):
    env = dict(os.environ, ISB_DEMO_DIR=str(tmp_path_factory.mktemp("demo")),
               ISB_FRONT_PORT=str(free_port()), ISB_NODE1_PORT=str(free_port()),
               ISB_NODE2_PORT=str(free_port()))

    def run(*args, check=True):
        res = subprocess.run(["bash", str(DEMO), *args], env=env, capture_output=True,
                             text=True, timeout=600)
        if check and res.returncode != 0:
            raise AssertionError(f"demo.sh {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
        return res

    try:
        out = run("start", "--nodes", request.param).stdout
        expected = {"tomcat": "Tomcat 10, jvmRoute isNode1", "builtin": "builtin HTTPS backend"}
        assert expected[request.param] in out, out
        assert "a session stays on its node" in out
        assert "the balancer-manager lists both members" in out
        yield env, run
    finally:
        run("stop", check=False)
        status = run("status", check=False)
        assert "runs" not in status.stdout, status.stdout


def client(env):
    ca = Path(env["ISB_DEMO_DIR"]) / "certs" / "ca.crt"
    return Client(int(env["ISB_FRONT_PORT"]), tls_ca=ca)


def test_new_sessions_spread_and_cookie_sessions_stick(demo):
    env, _ = demo
    cl = client(env)
    sessions = new_sessions(cl, 20)
    # Equal loadfactors. Earlier sticky requests (the demo's self-check) are charged
    # to the weights, as in stock, so the split need not be exactly even.
    spread = collections.Counter(sessions.values())
    assert set(spread) == {"isNode1", "isNode2"} and min(spread.values()) >= 7, spread
    for session, node in list(sessions.items())[:6]:
        for want in (2, 3, 4):
            status, _, body, _ = cl.request("/", headers={"Cookie": session})
            assert status == 200 and field(body, "backend") == node
            assert field(body, "count") == str(want)  # Tomcat's own session counter


def test_cookieless_client_follows_jsessionid_url(demo):
    env, _ = demo
    cl = client(env)
    _, _, body, _ = cl.request("/")
    link, node = field(body, "link"), field(body, "backend")
    assert ";jsessionid=" in link and link.endswith("." + node)
    for want in (2, 3, 4):
        status, _, body, _ = cl.request(link)
        assert status == 200 and field(body, "backend") == node
        assert field(body, "count") == str(want)


def test_failover_and_recovery(demo):
    env, run = demo
    cl = client(env)
    on_node1 = None
    for _ in range(30):  # sticky traffic of earlier tests may owe isNode2 a few first
        _, _, body, cookie = cl.request("/")
        if field(body, "backend") == "isNode1":
            on_node1 = cookie.split(";")[0]
            break
    assert on_node1
    run("stop-node", "1")
    try:
        statuses = collections.Counter()
        nodes = collections.Counter()
        for _ in range(12):
            status, _, body, _ = cl.request("/")
            statuses[status] += 1
            nodes[field(body, "backend")] += 1
        assert statuses == {200: 12} and nodes == {"isNode2": 12}
        # isNode1's session moves to isNode2 (a new session there, no error).
        status, _, body, _ = cl.request("/", headers={"Cookie": on_node1})
        assert status == 200 and field(body, "backend") == "isNode2"
    finally:
        run("start-node", "1")
    # Back within the members' retry=10.
    deadline = time.monotonic() + 25
    seen = set()
    while time.monotonic() < deadline and "isNode1" not in seen:
        status, _, body, _ = cl.request("/")
        assert status == 200
        seen.add(field(body, "backend"))
        time.sleep(0.5)
    assert "isNode1" in seen


def test_manager_answers_over_tls(demo):
    env, _ = demo
    status, headers, body, _ = client(env).request("/balancer-manager?format=json")
    assert status == 200
    (bal,) = json.loads(body)["balancers"]
    assert bal["name"] == "balancer://wso2.identity.domain"
    assert sorted(m["route"] for m in bal["members"]) == ["isNode1", "isNode2"]
    status, headers, body, _ = client(env).request("/balancer-manager")
    assert status == 200 and "isNode1" in body and "isNode2" in body

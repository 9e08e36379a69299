"""The real ansible module operators drain and enable members with,
community.general.apache2_mod_proxy (Debian 12's ansible package), against the
balancer-manager page: list the members, read one, then drain, disable and enable
it, each checked by traffic and by the manager's JSON.

The module reads the HTML page the way stock writes it (the version line, the
balancer's link first and members' links after it, the second table) and posts
its edits to a member's link with the nonce and no Origin or Referer, which the
page accepts only with ISBalancerManagerScriptEdits On.

It imports the old BeautifulSoup 3 name; Debian ships BeautifulSoup 4 as bs4, so
ansible/BeautifulSoup.py beside this file maps one onto the other (as a user of
Debian's packages has to do as well)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import Client, balancer_conf, field

SHIM = Path(__file__).with_name("ansible")
MODULE = "community.general.apache2_mod_proxy"


def have_ansible():
    if not shutil.which("ansible"):
        return "the ansible command is missing: scripts/deps.sh installs Debian's ansible"
    probe = subprocess.run(["/usr/bin/python3", "-c", "import bs4"], capture_output=True)
    if probe.returncode != 0:
        return "python3-bs4 is missing: scripts/deps.sh installs it"
    return None


pytestmark = pytest.mark.skipif(have_ansible() is not None, reason=str(have_ansible()))


def manager(script_edits):
    return f"""
ProxyPass "/balancer-manager" !
<Location "/balancer-manager">
    SetHandler balancer-manager
    Require local
    ISBalancerManagerScriptEdits {script_edits}
</Location>
"""


def ansible(h, tmp_path, **args):
    """Runs the module once as an ad-hoc command on localhost; returns its result."""
    env = dict(os.environ, PYTHONPATH=str(SHIM), HOME=str(tmp_path),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "local"),
               ANSIBLE_REMOTE_TEMP=str(tmp_path / "remote"),
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_DEPRECATION_WARNINGS="0")
    params = " ".join(f"{k}={v}" for k, v in
                      dict(balancer_vhost=f"127.0.0.1:{h.port}", **args).items())
    run = subprocess.run(["ansible", "localhost", "-c", "local", "-i", "localhost,",
                          "-m", MODULE, "-a", params],
                         capture_output=True, text=True, timeout=120, env=env)
    doc = json.loads(run.stdout[run.stdout.index("{"):])
    return doc["plays"][0]["tasks"][0]["hosts"]["localhost"]


def members(h):
    _, _, body, _ = Client(h.port).request("/balancer-manager?format=json")
    (bal,) = json.loads(body)["balancers"]
    return {m["route"]: m for m in bal["members"]}


def traffic(h, n=12, cookie=None):
    cl = Client(h.port)
    seen = {}
    for _ in range(n):
        status, _, body, _ = cl.request("/x", headers={"Cookie": cookie} if cookie else {})
        name = field(body, "backend") if status == 200 else f"status {status}"
        seen[name] = seen.get(name, 0) + 1
    return seen


def start(backends, httpd, script_edits):
    a, b = backends(("a", "n1"), ("b", "n2"))
    # Distinct host names: the module tells members apart by host alone.
    members_conf = [(f"http://localhost:{a.port}", "route=n1"), (b.url, "route=n2")]
    return httpd(balancer_conf(members_conf, proxyset="stickysession=JSESSIONID") +
                 manager(script_edits)), a, b


def test_ansible_lists_reads_drains_disables_and_enables(backends, httpd, tmp_path):
    h, a, b = start(backends, httpd, "On")
    cookie_n1 = "JSESSIONID=s1.n1"

    listed = ansible(h, tmp_path)
    assert not listed.get("failed"), listed
    by_host = {m["host"]: m for m in listed["members"]}
    assert set(by_host) == {"localhost", "127.0.0.1"}, listed
    assert by_host["localhost"]["port"] == str(a.port)
    assert by_host["127.0.0.1"]["port"] == str(b.port)
    assert by_host["localhost"]["attributes"]["Route"] == "n1"
    assert by_host["127.0.0.1"]["attributes"]["Route"] == "n2"
    assert by_host["localhost"]["attributes"]["Status"].startswith("Init Ok")
    for m in listed["members"]:
        assert m["status"] == {"disabled": False, "drained": False, "hot_standby": False,
                               "ignore_errors": False}

    read = ansible(h, tmp_path, member_host="localhost")
    assert not read.get("failed") and read["changed"] is False, read
    assert read["member"]["attributes"]["Route"] == "n1"

    drained = ansible(h, tmp_path, member_host="localhost", state="drained")
    assert not drained.get("failed") and drained["changed"] is True, drained
    assert drained["member"]["status"]["drained"] is True
    now = members(h)
    assert now["n1"]["status"]["drain"] and not now["n2"]["status"]["drain"]
    # New sessions avoid the draining member; its own sessions still reach it.
    assert traffic(h) == {"b": 12}
    assert traffic(h, 4, cookie_n1) == {"a": 4}

    disabled = ansible(h, tmp_path, member_host="localhost", state="disabled")
    assert not disabled.get("failed") and disabled["changed"] is True, disabled
    now = members(h)
    assert now["n1"]["status"]["disabled"] and not now["n1"]["status"]["drain"]
    assert not now["n2"]["status"]["disabled"]
    assert traffic(h) == {"b": 12}
    assert traffic(h, 4, cookie_n1) == {"b": 4}

    enabled = ansible(h, tmp_path, member_host="localhost", state="enabled")
    assert not enabled.get("failed") and enabled["changed"] is True, enabled
    assert enabled["member"]["status"] == {"disabled": False, "drained": False,
                                           "hot_standby": False, "ignore_errors": False}
    now = members(h)
    assert not any(now["n1"]["status"][k] for k in ("disabled", "drain"))
    assert traffic(h) == {"a": 6, "b": 6}
    assert traffic(h, 4, cookie_n1) == {"a": 4}
    # The other member was never touched.
    assert members(h)["n2"]["differs"] == []
    log = h.error_log.read_text()
    assert log.count("ISB00028") == 3 and "(user -)" in log


def test_ansible_edits_are_refused_by_default(backends, httpd, tmp_path):
    h, a, _ = start(backends, httpd, "Off")
    h.allowed = [r"ISB00026"]
    listed = ansible(h, tmp_path)
    assert not listed.get("failed") and len(listed["members"]) == 2, listed
    drained = ansible(h, tmp_path, member_host="localhost", state="drained")
    assert drained.get("failed"), drained
    assert not members(h)["n1"]["status"]["drain"]
    assert traffic(h) == {"a": 6, "b": 6}

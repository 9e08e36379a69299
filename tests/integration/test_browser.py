"""The balancer-manager in a real browser: Debian's chromium, driven by playwright-core
(tests/browser/manager_page.mjs), against a real httpd with the module. It disables
a member through the page's own form and checks that traffic stops reaching it, and
that the page refreshes itself. The screenshot is kept as a test artifact in
build/artifacts/ (ISB_ARTIFACTS to change) and is the one in the README."""
import json
import os
import shutil
import subprocess
from pathlib import Path

from harness import BUILD, MANAGER, ROOT, balancer_conf

BROWSER_DIR = ROOT / "tests" / "browser"
ARTIFACTS = Path(os.environ.get("ISB_ARTIFACTS", BUILD / "artifacts"))


def needs_browser():
    assert (BROWSER_DIR / "node_modules" / "playwright-core").exists() and Path(
        "/usr/bin/chromium").exists() and shutil.which("node"), (
        "needs node, playwright-core (npm ci in tests/browser) and /usr/bin/chromium: "
        "run scripts/deps.sh")


def identity_cluster(backends, httpd):
    """Three nodes isNode1..3 behind balancer://wso2.identity.domain, with a manager."""
    nodes = backends(("isNode1", "isNode1"), ("isNode2", "isNode2"), ("isNode3", "isNode3"))
    members = [(n.url, f"route={n.route}") for n in nodes]
    h = httpd(balancer_conf(members, name="wso2.identity.domain",
                            proxyset="stickysession=JSESSIONID growth=2") + MANAGER)
    return h, nodes


def run_script(script, *args):
    """Runs tests/browser/SCRIPT with ARGS; returns the JSON object it prints last."""
    run = subprocess.run(["node", str(BROWSER_DIR / script), *args], capture_output=True,
                         text=True, timeout=120, cwd=BROWSER_DIR)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_disable_a_member_through_the_page(backends, httpd):
    needs_browser()
    h, nodes = identity_cluster(backends, httpd)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "balancer-manager.png"
    target = nodes[0]
    seen = run_script("manager_page.mjs", "--front", f"http://127.0.0.1:{h.port}",
                      "--member", target.url, "--screenshot", str(shot))

    assert seen["title"] == "Balancer Manager"
    assert seen["members"] == [n.url for n in nodes]
    assert set(seen["traffic_before"]) == {"isNode1", "isNode2", "isNode3"}
    # The refresh picked up the traffic without reloading the page.
    assert seen["elected_after_refresh"] > seen["elected_before"]
    assert not seen["reloaded_for_refresh"]
    assert seen["refresh_stamp"].startswith("updated")
    # The form's edit was applied, and traffic no longer reaches the member.
    assert seen["notice"].startswith("Applied:") and "status" in seen["notice"]
    assert "Dis" in seen["status_after_edit"]
    assert set(seen["traffic_after"]) == {"isNode2", "isNode3"}
    assert sum(seen["traffic_after"].values()) == 20
    assert seen["console_errors"] == []
    assert shot.stat().st_size > 10_000


def test_following_a_members_link_edits_that_member(backends, httpd):
    """Stock's flow: the table's link for the second member, then the form on the
    page it opens. Only that member may change (the first form of our full page
    belongs to the first member, so a page that ignored the link would drain it)."""
    needs_browser()
    h, nodes = identity_cluster(backends, httpd)
    target = nodes[1].url
    seen = run_script("member_link.mjs", "--front", f"http://127.0.0.1:{h.port}",
                      "--member", target)
    assert "w=" + target in seen["url"]
    assert seen["heading"] == (f"Edit member {target} (route isNode2) of "
                               "balancer://wso2.identity.domain")
    assert seen["edit_forms"] == 1
    assert seen["notice"] == f"Applied: member {target}: status \"\" -> N"
    assert seen["members"] == {
        nodes[0].url: {"drain": False, "disabled": False},
        target: {"drain": True, "disabled": False},
        nodes[2].url: {"drain": False, "disabled": False},
    }
    assert seen["console_errors"] == []


def test_refresh_matches_balancers_with_utf8_and_latin1_names(backends, httpd):
    """The page's script finds each row by the names in the JSON; a name with
    non-ASCII bytes must come out of the JSON as the browser decoded it from the
    page (U+FFFD for bytes that are not UTF-8), or its rows never update."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    utf8, latin1 = "caf\u00e9", "latin1-name"  # the second becomes b"caf\xe9" below
    body = ""
    for path, name, member in (("/u/", utf8, a), ("/l/", latin1, b)):
        body += (f'<Proxy "balancer://{name}">\n    BalancerMember "{member.url}"\n</Proxy>\n'
                 f'ProxyPass "{path}" "balancer://{name}/"\n')
    needs_browser()
    h = httpd(body + MANAGER, start=False)
    h.conf.write_bytes(h.conf.read_bytes().replace(b"latin1-name", b"caf\xe9"))
    h.start()
    seen = run_script("refresh_names.mjs", "--front", f"http://127.0.0.1:{h.port}",
                      "--paths", "/u/,/l/")
    rows = seen["rows"]
    assert set(rows) == {f"balancer://caf\u00e9 {a.url}", f"balancer://caf\ufffd {b.url}"}, rows
    for name, counts in rows.items():
        assert counts["after"] == counts["before"] + 4, (name, counts)
    assert seen["console_errors"] == []

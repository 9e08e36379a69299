"""scripts/isbctl against two real httpd fronts with the same balancer and the same
real backends: status across fronts (agreeing, then not), edits applied to both and
read back, a front that is down (nothing changed), a front that refuses midway (the
first one restored), drain --wait on requests in flight, a TLS front with --cacert,
basic authentication (--user, ISBCTL_PASSWORD, --netrc-file),
and --help. drain --wait's sessions.live branch, which the module's JSON does not
have yet, is driven by a small fake front serving canned JSON."""
import base64
import hashlib
import http.server
import json
import os
import subprocess
import threading
import time

from harness import PYTHON, ROOT, Client, balancer_conf, wait_for

ISBCTL = ROOT / "scripts" / "isbctl"

MANAGER = """
ProxyPass "/balancer-manager" !
<Location "/balancer-manager">
    SetHandler balancer-manager
    {require}
</Location>
"""


def conf(a, b, require="Require local"):
    return balancer_conf([(a.url, "route=n1"), (b.url, "route=n2")], name="c",
                         proxyset="stickysession=JSESSIONID growth=2") + \
        MANAGER.format(require=require)


def isbctl(*args, timeout=60, env=None):
    environ = {k: v for k, v in os.environ.items() if k != "ISBCTL_PASSWORD"}
    res = subprocess.run([PYTHON, str(ISBCTL), *map(str, args)], capture_output=True, text=True,
                         timeout=timeout, env={**environ, **(env or {})})
    return res.returncode, res.stdout, res.stderr


def url(h):
    return f"{h.base}/balancer-manager"


def fronts(*hs):
    out = []
    for h in hs:
        out += ["--front", url(h)]
    return out


def doc(h, ca=None):
    status, _, body, _ = Client(h.port, tls_ca=ca).request("/balancer-manager?format=json")
    assert status == 200, body
    return json.loads(body)


def member(h, route, ca=None):
    (bal,) = doc(h, ca)["balancers"]
    (m,) = [m for m in bal["members"] if m["route"] == route]
    return m


def post_json(h, obj):
    """An edit on one front only, as the page's script would send it."""
    bal = doc(h)["balancers"][0]
    status, _, body, _ = Client(h.port).request(
        "/balancer-manager", method="POST", body=json.dumps({"nonce": bal["nonce"], **obj}),
        headers={"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{h.port}"})
    assert status == 200, body


def two_fronts(backends, httpd, require2="Require local"):
    a, b = backends(("a", "n1"), ("b", "n2"))
    return a, b, httpd(conf(a, b)), httpd(conf(a, b, require=require2))


def test_help_is_a_manual():
    rc, out, _ = isbctl("--help")
    assert rc == 0
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS",
                    "EXAMPLES", "FILES"):
        assert f"\n{section}\n" in "\n" + out, section
    assert "sessions.live" in out and "requests in flight" in out
    rc, _, err = isbctl("status")  # no fronts: usage
    assert rc == 1 and "no fronts" in err
    rc, _, err = isbctl("--front", "http://127.0.0.1:1/balancer-manager", "set", "n1", "bogus=1")
    assert rc == 1 and "unknown setting 'bogus'" in err


def test_status_across_two_fronts_shows_disagreement(backends, httpd, tmp_path):
    a, b, h1, h2 = two_fronts(backends, httpd)
    rc, out, err = isbctl(*fronts(h1, h2), "status")
    assert rc == 0, err
    assert "balancer://c" in out and a.url in out and b.url in out
    assert not [line for line in out.splitlines() if line.startswith("  *")], out
    # An edit made on the second front only is a disagreement, named per front.
    post_json(h2, {"balancer": "c", "member": a.url, "set": {"loadfactor": 3}})
    rc, out, err = isbctl(*fronts(h1, h2), "status")
    assert rc == 0, err
    row = [line for line in out.splitlines() if a.url in line]
    assert row and row[0].startswith("  *"), out
    assert f"loadfactor: 127.0.0.1:{h1.port}=1  127.0.0.1:{h2.port}=3" in out, out
    (brow,) = [line for line in out.splitlines() if b.url in line]
    assert brow.startswith("   "), out  # b agrees
    # --json, with the fronts from a configuration file.
    cfg = tmp_path / "isbctl.conf"
    cfg.write_text(f"# two fronts\n{url(h1)}\nfront = {url(h2)}\nbalancer = c\ntimeout = 5\n")
    rc, out, err = isbctl("--config", cfg, "status", "--json")
    assert rc == 0, err
    st = json.loads(out)
    assert st["schema"] == "isbctl.status/1" and st["ok"]
    (bal,) = st["balancers"]
    rows = {m["name"]: m for m in bal["members"]}
    assert rows[b.url]["agree"] and rows[b.url]["loadfactor"] == 1
    assert not rows[a.url]["agree"] and rows[a.url]["loadfactor"] is None
    assert rows[a.url]["differs"] == [{"field": "loadfactor", "values": {
        f"127.0.0.1:{h1.port}": 1, f"127.0.0.1:{h2.port}": 3}}]


def test_edits_apply_to_every_front_and_read_back(backends, httpd):
    a, b, h1, h2 = two_fronts(backends, httpd)
    rc, out, err = isbctl(*fronts(h1, h2), "disable", "n1")
    assert rc == 0, err
    assert out.count("disabled false -> true: ok (read back)") == 2, out
    assert member(h1, "n1")["status"]["disabled"] and member(h2, "n1")["status"]["disabled"]
    # A member URL in another spelling is the same member.
    spelled = a.url.replace("http://", "HTTP://") + "/"
    rc, out, err = isbctl(*fronts(h1, h2), "enable", spelled)
    assert rc == 0, err
    assert not member(h1, "n1")["status"]["disabled"]
    assert not member(h2, "n1")["status"]["disabled"]
    rc, out, err = isbctl(*fronts(h1, h2), "set", "n2", "loadfactor=2.5", "lbset=1",
                          "hot_standby=true")
    assert rc == 0, err
    for h in (h1, h2):
        m = member(h, "n2")
        assert (m["loadfactor"], m["lbset"], m["status"]["hot_standby"]) == (2.5, 1, True)
    rc, out, err = isbctl(*fronts(h1, h2), "drain", "n2")
    assert rc == 0, err
    assert member(h1, "n2")["status"]["drain"] and member(h2, "n2")["status"]["drain"]
    rc, out, err = isbctl(*fronts(h1, h2), "undrain", "n2")
    assert rc == 0 and not member(h2, "n2")["status"]["drain"], err
    # add and remove, on both.
    (c,) = backends(("c", "n3"))
    rc, out, err = isbctl(*fronts(h1, h2), "add", c.url, "route=n3", "disabled=false")
    assert rc == 0, err
    for h in (h1, h2):
        m = member(h, "n3")
        assert m["added"] and not m["status"]["disabled"]
    rc, out, err = isbctl(*fronts(h1, h2), "add", c.url)  # already there: nothing changed
    assert rc == 2 and "already has member" in err, err
    rc, out, err = isbctl(*fronts(h1, h2), "remove", "n3")
    assert rc == 0, err
    for h in (h1, h2):
        assert [m["route"] for m in doc(h)["balancers"][0]["members"]] == ["n1", "n2"]


def test_a_front_that_is_down_changes_nothing(backends, httpd):
    a, b, h1, h2 = two_fronts(backends, httpd)
    h2.stop()
    rc, out, err = isbctl(*fronts(h1, h2), "disable", "n1")
    assert rc == 2, (out, err)
    assert f"127.0.0.1:{h2.port}: cannot be reached" in err
    assert "nothing was changed on any front" in err
    assert not member(h1, "n1")["status"]["disabled"]
    assert member(h1, "n1")["differs"] == [] and doc(h1)["balancers"][0]["edits"] == 0
    # status shows the front that answers, and says which one did not.
    rc, out, err = isbctl(*fronts(h1, h2), "status")
    assert rc == 2 and a.url in out and f"127.0.0.1:{h2.port}" in err


def test_a_front_that_refuses_midway_is_undone_on_the_others(backends, httpd):
    """The second front lets the manager be read but refuses every POST (httpd's own
    Require), so the first one has been changed when the second refuses."""
    a, b, h1, h2 = two_fronts(backends, httpd,
                              require2="<RequireAll>\n Require local\n Require method GET\n"
                                       " </RequireAll>")
    h2.allowed = [r"AH01630"]  # client denied by server configuration
    rc, out, err = isbctl(*fronts(h1, h2), "set", "n1", "loadfactor=4", "disabled=true")
    assert rc == 3, (out, err)
    assert f"failed on 127.0.0.1:{h2.port}: refused (403)" in err, err
    assert f"restored as before: 127.0.0.1:{h1.port}" in err, err
    for h in (h1, h2):
        m = member(h, "n1")
        assert m["loadfactor"] == 1 and not m["status"]["disabled"], m
    # The first front really was changed, then changed back (two edits).
    assert doc(h1)["balancers"][0]["edits"] == 2
    assert doc(h2)["balancers"][0]["edits"] == 0


def test_drain_wait_returns_once_no_request_is_in_flight(backends, httpd):
    a, b, h1, h2 = two_fronts(backends, httpd)
    result = {}

    def slow():  # a sticky request to n1 on the second front, held 3 s by the backend
        result["status"] = Client(h2.port).request(
            "/sleep/3000", headers={"Cookie": "JSESSIONID=x.n1"})[0]

    t = threading.Thread(target=slow)
    t.start()
    try:
        wait_for(lambda: member(h2, "n1")["busy"] == 1, timeout=5, what="busy 1 on front 2")
        start = time.monotonic()
        rc, out, err = isbctl(*fronts(h1, h2), "drain", "n1", "--wait", "--timeout", "20",
                              "--interval", "0.2")
        took = time.monotonic() - start
    finally:
        t.join(timeout=15)
    assert rc == 0, (out, err)
    assert result["status"] == 200
    assert f"127.0.0.1:{h2.port} 1 in flight" in err, err  # the progress line
    assert "drained:" in out and took > 1.0, (out, took)
    assert member(h1, "n1")["status"]["drain"] and member(h2, "n1")["status"]["drain"]
    # With a request held longer than --timeout: exit status 5, drain stays set.
    t = threading.Thread(target=lambda: Client(h1.port).request(
        "/sleep/3000", headers={"Cookie": "JSESSIONID=x.n1"}))
    t.start()
    try:
        wait_for(lambda: member(h1, "n1")["busy"] == 1, timeout=5, what="busy 1 on front 1")
        rc, out, err = isbctl(*fronts(h1, h2), "drain", "n1", "--wait", "--timeout", "1",
                              "--interval", "0.2")
    finally:
        t.join(timeout=15)
    assert rc == 5 and "timed out after 1s" in err and "drain stays set" in err, err


class FakeFront(http.server.ThreadingHTTPServer):
    """A canned isbalancer.manager/1 JSON with a member that reports sessions.live,
    counting down once per read after drain was set; records the edits it got."""

    def __init__(self, live):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.live, self.drain, self.posts = live, False, []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def document(self):
        m = {"name": "http://10.9.9.9:8080", "route": "n1", "status_text": "Init Ok",
             "status": {"drain": self.drain, "disabled": False}, "loadfactor": 1, "lbset": 0,
             "busy": 0, "elected": 0, "ejected": False, "sessions": {"live": self.live}}
        return {"schema": "isbalancer.manager/1", "balancers": [
            {"name": "balancer://c", "nonce": "n-123", "free_slots": 0, "members": [m]}]}


class FakeHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        if srv.drain and srv.live > 0:
            srv.live -= 1
        self.reply(srv.document())

    def do_POST(self):
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv.posts.append((self.headers.get("Origin"), body))
        srv.drain = body["set"]["drain"]
        self.reply({"ok": True, "balancer": "balancer://c", "changes": []})


def test_drain_wait_follows_live_sessions_when_the_json_has_them():
    fake = FakeFront(live=3)
    fake.thread.start()
    try:
        port = fake.server_address[1]
        rc, out, err = isbctl("--front", f"http://127.0.0.1:{port}/balancer-manager", "drain",
                              "n1", "--wait", "--timeout", "20", "--interval", "0.05")
    finally:
        fake.shutdown()
        fake.server_close()
    assert rc == 0, (out, err)
    assert "live sessions" in err and "0 live sessions" in out, (out, err)
    assert fake.live == 0
    assert fake.posts == [(f"http://127.0.0.1:{port}", {
        "member": "http://10.9.9.9:8080", "set": {"drain": True}, "nonce": "n-123",
        "balancer": "c"})]


def tls_conf(port, certs, a, b):
    ca, crt, key = certs
    return f"""
SSLSessionCache "shmcb:sslcache(512000)"
<VirtualHost 127.0.0.1:{port}>
    ServerName localhost
    SSLEngine On
    SSLCertificateFile "{crt}"
    SSLCertificateKeyFile "{key}"
{conf(a, b)}
</VirtualHost>
"""


def test_tls_fronts_with_cacert(backends, httpd, certs):
    ca = certs[0]
    a, b = backends(("a", "n1"), ("b", "n2"))
    hs = []
    for _ in range(2):
        h = httpd("", tls=True, start=False)
        h.write_config(tls_conf(h.port, certs, a, b))
        hs.append(h.start())
    urls = []
    for h in hs:
        urls += ["--front", f"https://localhost:{h.port}/balancer-manager"]
    rc, out, err = isbctl(*urls, "status")
    assert rc == 2 and "certificate not trusted" in err and "--cacert" in err, err
    rc, out, err = isbctl(*urls, "--cacert", ca, "disable", "n2")
    assert rc == 0, err
    for h in hs:
        assert member(h, "n2", ca=ca)["status"]["disabled"]
    rc, out, err = isbctl(*urls, "--insecure", "enable", "n2")
    assert rc == 0, err
    rc, out, err = isbctl(*urls, "--cacert", ca, "status", "--json")
    assert rc == 0, err
    (bal,) = json.loads(out)["balancers"]
    assert all(m["agree"] and m["status"] == "Init Ok" for m in bal["members"]), bal


def test_basic_auth_with_user_and_netrc(backends, httpd, tmp_path):
    """A manager behind httpd's Require valid-user: --user USER:PASSWORD,
    --user USER with ISBCTL_PASSWORD, and --netrc-file."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd("", modules=["auth_basic", "authn_core", "authn_file", "authz_user"],
              start=False)
    users = h.root / "htpasswd"  # readable by the httpd user, unlike pytest's tmp_path
    users.write_text("ops:{SHA}" + base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()
                     + "\n")
    users.chmod(0o644)
    require = (f'AuthType Basic\n    AuthName "isb"\n    AuthUserFile "{users}"\n'
               "    <RequireAll>\n     Require local\n     Require valid-user\n    </RequireAll>")
    h.write_config(conf(a, b, require=require))
    h.start()
    h.allowed = [r"AH01618", r"AH01617"]  # user not found / password mismatch
    rc, out, err = isbctl(*fronts(h), "status")
    assert rc == 2 and "401" in err and "--user" in err, err
    rc, out, err = isbctl(*fronts(h), "--user", "ops:s3cret", "status")
    assert rc == 0 and a.url in out, err
    rc, out, err = isbctl(*fronts(h), "--user", "ops", "status")  # no password anywhere
    assert rc == 1 and "no password" in err, err
    rc, out, err = isbctl(*fronts(h), "--user", "ops", "status", env={"ISBCTL_PASSWORD": "s3cret"})
    assert rc == 0, err
    rc, out, err = isbctl(*fronts(h), "--user", "ops:wrong", "disable", "n1")
    assert rc == 2 and "401" in err, err
    nrc = tmp_path / "netrc"
    nrc.write_text("machine 127.0.0.1 login ops password s3cret\n")
    nrc.chmod(0o600)
    rc, out, err = isbctl(*fronts(h), "--netrc-file", nrc, "disable", "n1")
    assert rc == 0, err
    assert member_auth(h, "n1")["status"]["disabled"]


def member_auth(h, route):
    token = base64.b64encode(b"ops:s3cret").decode()
    status, _, body, _ = Client(h.port).request("/balancer-manager?format=json",
                                                headers={"Authorization": "Basic " + token})
    assert status == 200, body
    (m,) = [m for m in json.loads(body)["balancers"][0]["members"] if m["route"] == route]
    return m

"""The URL a member is sent: the same through mod_isbalancer as through stock
mod_proxy_balancer, and as through a plain ProxyPass where the two are comparable.

Three fronts per AllowEncodedSlashes setting (Off, On, NoDecode), each its own
httpd with the same locations:

  direct   ProxyPass (or RewriteRule [P]) straight to a member URL
  stock    mod_proxy_balancer + mod_lbmethod_byrequests
  isb      mod_isbalancer

A matrix of awkward request targets goes through each front. The members are raw
echo servers in this process: they answer with the request target exactly as it
arrived on the wire (the test backend.py folds a leading "//", these do not). For
every target the test compares the status, the target the member saw and r->filename
(`%f` in an access log: the canonical member URL mod_proxy ends up with) of isb
with stock byte for byte, and status and member target of isb with direct.
"""
import socket
import socketserver
import ssl
import threading

import pytest

from harness import MEMBER_DOWN, free_port, read_to_close

STOCK_MODULES = ["slotmem_shm", "proxy_balancer", "lbmethod_byrequests"]
# mod_proxy_wstunnel's canon handler runs before mod_proxy_http's (and declines).
EXTRA_MODULES = ["rewrite", "proxy_wstunnel"]

# (location, target after it). Every location exists on every front.
TARGETS = [
    "plain/page",
    "a%2Fb/c",
    "a%2fb",
    "a%252Fb",
    "pct%25literal",
    "sp%20ace",
    "plus+sign",
    "tilde~user/%7Euser",
    "%41%42%43",
    "unicode/%C3%A9t%C3%A9",
    "raw/\xc3\xa9t\xc3\xa9",
    "ctl%0Aline%09tab%7F",
    "nul%00",
    "params;a=b;c/d;e=f",
    "sticky/page;jsessionid=ABCDEF0123.n1",
    "sticky/page;jsessionid=ABCDEF0123.n2?x=1",
    "double//slash///x",
    "dots/./a/../b/%2E%2E/c",
    "dots/..%2F..%2Fetc",
    "reserved/:@&=$,!*'()",
    "odd/[]{}|^`\"<>\\",
    "q?a=1&b=2",
    "q?sp=%20&pct=%25&slash=%2F&plus=a+b",
    "q?raw=\xc3\xa9&amp;&&=&",
    "q?odd=[]{}|^`\"<>\\",
    "q?",
    "q?jsessionid=ABCDEF0123.n2",
    "end/",
    "",
    # Every ASCII byte but NUL and '/', percent-encoded; then every printable one
    # that may appear raw in a request target.
    "all/" + "".join(f"%{b:02X}" for b in range(1, 128) if b != 0x2F),
    "raw/" + "".join(chr(b) for b in range(0x21, 0x7F) if chr(b) not in "?#%"),
    "rawq?" + "".join(chr(b) for b in range(0x21, 0x7F) if chr(b) != "#"),
]

LOCATIONS = ["p", "nc", "enc", "srv", "pre", "pres", "root", "tls", "v6", "dflt", "ip", "rw",
             "rwq"]
# Locations whose balancer has a single member.
SINGLE_MEMBER = {"pre", "pres", "root", "tls", "v6", "dflt"}



def cases(members):
    """One request per (location, target), over a fresh connection. /dflt/ needs a
    member of ours on 127.0.0.1:80; where that port is taken (or not ours to bind),
    it is left out rather than sent to whatever listens there."""
    m80 = members[-1]
    return [(loc, t) for loc in LOCATIONS if loc != "dflt" or m80 is not None for t in TARGETS]


class Echo(socketserver.ThreadingTCPServer):
    """A member that answers 200 with the raw request target it received."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name, tls=None, port=0):
        self.name = name
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(tls[0], tls[1])
        super().__init__(("127.0.0.1", port), EchoHandler)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def get_request(self):
        sock, addr = super().get_request()
        if self.ctx:
            sock = self.ctx.wrap_socket(sock, server_side=True)
        return sock, addr

    def url(self, path=""):
        return f"{'https' if self.ctx else 'http'}://127.0.0.1:{self.port}{path}"


class EchoHandler(socketserver.StreamRequestHandler):
    timeout = 10

    def handle(self):
        line = self.rfile.readline(65537)
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
        parts = line.rstrip(b"\r\n").split(b" ")
        target = parts[1] if len(parts) == 3 else b"(bad request line)"
        body = b"backend=" + self.server.name.encode() + b"\ntarget=" + target + b"\n"
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def member_target(status, body):
    if status != 200:
        return None
    for line in body.split(b"\n"):
        if line.startswith(b"target="):
            return line[len(b"target="):]
    return None


def front_body(kind, slashes, m1, m2, m3, mtls, v6port, m80):
    """The locations of one front. /pre/ and /pres/ go to a member whose URL has a
    path (without and with a trailing slash), /root/ to one whose URL ends in the
    host's '/', /tls/ to an https member, /v6/ to an IPv6 literal where nothing
    listens (503, but r->filename shows the URL the member would have been sent),
    /dflt/ to http://127.0.0.1:80, a member of ours if we could bind that port (the
    default port leaves the URL; without that member the location is not used), /ip/ has
    ProxyPassInterpolateEnv On, /rw/ is a RewriteRule [P] rather than ProxyPass, and
    /rwq/ a RewriteRule [P] that puts the decoded path into the query (mod_rewrite
    refuses a space or a control character there with 403)."""
    common = f"""
AllowEncodedSlashes {slashes}
SSLSessionCache "shmcb:sslcache(512000)"
SSLProxyEngine On
SSLProxyVerify none
SSLProxyCheckPeerName off
RewriteEngine On
CustomLog "canon.log" "%{{X-Case}}i %>s %f"
<Location "/ip/">
    ProxyPassInterpolateEnv On
</Location>
"""
    if kind == "direct":
        return common + f"""
ProxyPass "/p/" "{m1.url('/p/')}"
ProxyPass "/nc/" "{m1.url('/nc/')}" nocanon
ProxyPass "/enc/" "{m1.url('/enc/')}" mapping=encoded
ProxyPass "/srv/" "{m1.url('/srv/')}" mapping=servlet
ProxyPass "/pre/" "{m3.url('/prefix/')}"
ProxyPass "/pres/" "{m3.url('/prefix//')}"
ProxyPass "/root/" "{m3.url('//')}"
ProxyPass "/v6/" "http://[::1]:{v6port}/v6/" retry=0
ProxyPass "/dflt/" "http://127.0.0.1:80/dflt/"
ProxyPass "/tls/" "{mtls.url('/tls/')}"
ProxyPass "/ip/" "{m1.url('/ip/')}" interpolate
RewriteRule "^/rw/(.*)$" "{m1.url('/rw/')}$1" [P]
RewriteRule "^/rwq/(.*)$" "{m1.url('/rwq')}?v=$1" [P]
"""
    return common + f"""
<Proxy "balancer://c">
    BalancerMember "{m1.url()}" route=n1
    BalancerMember "{m2.url()}" route=n2
    ProxySet stickysession=JSESSIONID|jsessionid
</Proxy>
<Proxy "balancer://pre">
    BalancerMember "{m3.url('/prefix')}"
</Proxy>
<Proxy "balancer://pres">
    BalancerMember "{m3.url('/prefix/')}"
</Proxy>
<Proxy "balancer://root">
    BalancerMember "{m3.url('/')}"
</Proxy>
<Proxy "balancer://v6">
    BalancerMember "http://[::1]:{v6port}" retry=0
</Proxy>
<Proxy "balancer://dflt">
    BalancerMember "http://127.0.0.1:80"
</Proxy>
<Proxy "balancer://tls">
    BalancerMember "{mtls.url()}"
</Proxy>
ProxyPass "/p/" "balancer://c/p/"
ProxyPass "/nc/" "balancer://c/nc/" nocanon
ProxyPass "/enc/" "balancer://c/enc/" mapping=encoded
ProxyPass "/srv/" "balancer://c/srv/" mapping=servlet
ProxyPass "/pre/" "balancer://pre/"
ProxyPass "/pres/" "balancer://pres/"
ProxyPass "/root/" "balancer://root/"
ProxyPass "/v6/" "balancer://v6/v6/"
ProxyPass "/dflt/" "balancer://dflt/dflt/"
ProxyPass "/tls/" "balancer://tls/tls/"
ProxyPass "/ip/" "balancer://c/ip/" interpolate
RewriteRule "^/rw/(.*)$" "balancer://c/rw/$1" [P]
RewriteRule "^/rwq/(.*)$" "balancer://c/rwq?v=$1" [P]
"""


@pytest.fixture
def members(certs):
    ca, crt, key = certs
    made = [Echo("m1"), Echo("m2"), Echo("m3"), Echo("mtls", tls=(crt, key))]
    try:
        m80 = Echo("m80", port=80)
        made.append(m80)
    except OSError:  # taken by another server, or not root: /dflt/ is left out
        m80 = None
    yield made[:4] + [free_port(), m80]
    for m in made:
        m.shutdown()
        m.server_close()


def run_front(httpd, kind, slashes, members):
    h = httpd(front_body(kind, slashes, *members),
              load_isb=kind == "isb",
              modules=EXTRA_MODULES + ["ssl", "socache_shmcb"] +
              (STOCK_MODULES if kind == "stock" else []))
    # Rejections each front logs the same way (bad %-escapes, control characters,
    # encoded slashes refused by the core, the servlet mapping notice).
    h.allowed = MEMBER_DOWN + [r"AH00126", r"AH01136", r"AH10415", r"AH10408", r"AH01083", r"AH10244",
                 r"AH10411", r"AH10479", r"AH10410", r"AH10508"]
    seen = {}
    for i, (loc, t) in enumerate(cases(members)):
        target = ("/" + loc + "/" + t).encode("latin-1")
        status, body = fetch_case(h.port, target, i)
        seen[i] = (status, member_target(status, body))
    lines = (h.root / "canon.log").read_text(encoding="latin-1").splitlines()
    filenames = {}
    for line in lines:
        case, status, filename = line.split(" ", 2)
        if case != "-":
            filenames[int(case)] = filename
    return seen, filenames


def fetch_case(port, target, case):
    # The case number rides in a header so that the access log can be matched up.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Case: " +
                  str(case).encode() + b"\r\nConnection: close\r\n\r\n")
        data = read_to_close(s)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    if any(h.lower() == b"transfer-encoding: chunked" for h in lines[1:]):
        out = b""
        while body:
            size, _, rest = body.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                break
            out += rest[:n]
            body = rest[n + 2:]
        body = out
    return status, body


def strip_member(filename):
    """r->filename without "proxy:scheme://host:port": the member path and query."""
    if not filename.startswith("proxy:"):
        return filename
    rest = filename[len("proxy:"):]
    scheme, sep, after = rest.partition("://")
    if not sep:
        return filename
    slash = after.find("/")
    return after[slash:] if slash >= 0 else ""


@pytest.mark.parametrize("slashes", ["Off", "On", "NoDecode"])
def test_member_sees_the_same_url(httpd, members, slashes):
    fronts = {kind: run_front(httpd, kind, slashes, members)
              for kind in ("direct", "stock", "isb")}
    (d_seen, d_files), (s_seen, s_files), (i_seen, i_files) = (
        fronts["direct"], fronts["stock"], fronts["isb"])
    differ = []
    proxied = 0
    all_cases = cases(members)
    for i, (loc, t) in enumerate(all_cases):
        name = f"/{loc}/{t!r}"
        if i_seen[i] != s_seen[i]:
            differ.append(f"{name}: isb {i_seen[i]} stock {s_seen[i]}")
        # Which member takes a new session is the balancer's business (tested in
        # test_balancing.py); where there is a choice, compare the rest of the URL.
        chosen = loc in SINGLE_MEMBER or (";jsessionid=" in t.split("?")[0] and loc != "rwq")
        key = (lambda f: f) if chosen else strip_member
        if key(i_files.get(i, "")) != key(s_files.get(i, "")):
            differ.append(f"{name}: r->filename isb {i_files.get(i)} stock {s_files.get(i)}")
        if i_seen[i] != d_seen[i]:
            differ.append(f"{name}: isb {i_seen[i]} direct {d_seen[i]}")
        if strip_member(i_files.get(i, "")) != strip_member(d_files.get(i, "")):
            differ.append(f"{name}: r->filename isb {i_files.get(i)} direct {d_files.get(i)}")
        proxied += i_seen[i][0] == 200
    assert not differ, "\n".join(differ)
    # The matrix must mostly reach the members, or it proves little.
    assert proxied > len(all_cases) * 2 // 3, proxied


def test_members_added_at_run_time_get_their_own_url(httpd, members):
    """A member added through the balancer-manager (with a path in its URL), and
    another put into the slot of a removed one, are sent their own canonical URL
    from every child."""
    from test_manager_edit import MANAGER, Manager

    m1, m2, m3 = members[:3]
    h = httpd(f"""
<Proxy "balancer://c">
    BalancerMember "{m1.url()}"
    ProxySet growth=1
</Proxy>
ProxyPass "/balancer-manager" !
ProxyPass "/" "balancer://c/"
{MANAGER}""", mpm="prefork")
    mgr = Manager(h)
    target = b"/p/a%20b/%C3%A9;x=1/~u?q=%2F&r=a+b"

    def seen(n=12):
        out = set()
        for _ in range(n):
            status, body = fetch_case(h.port, target, 0)
            assert status == 200, body
            out.add((body.split(b"\n")[0], member_target(status, body)))
        return out

    assert seen() == {(b"backend=m1", target)}
    added = m3.url("/prefix")
    status, _, page, _ = mgr.post({"b_nwrkr": added, "b_wyes": "1", "w": added,
                                   "w_status_D": "0"})
    assert status == 200, page
    assert mgr.post({"w": m1.url(), "w_status_D": "1"})[0] == 200
    assert seen() == {(b"backend=m3", b"/prefix" + target)}
    # Removed, and its slot taken by a member with another URL.
    assert mgr.post({"w": m1.url(), "w_status_D": "0"})[0] == 200
    assert mgr.post({"w": added, "w_remove": "1"})[0] == 200
    assert seen() == {(b"backend=m1", target)}
    other = m2.url("/other/")
    status, _, page, _ = mgr.post({"b_nwrkr": other, "b_wyes": "1", "w": other,
                                   "w_status_D": "0"})
    assert status == 200, page
    assert mgr.post({"w": m1.url(), "w_status_D": "1"})[0] == 200
    assert seen() == {(b"backend=m2", b"/other/" + target)}

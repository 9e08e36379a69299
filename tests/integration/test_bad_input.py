"""Hostile requests through a real httpd, one table row each (ROWS below; the
README lists them). Every row is sent on its own raw connection and must get the
row's status: a normal routing decision (200, the sticky member when the row says
so) or httpd's own 4xx. A row that names its member is sent STICKY_REPEATS times
in a row, so that the round-robin pick (which alternates between the two members)
cannot land on the right member every time by luck. Never a 5xx of ours; a 502/503 only where the member the
request is bound to is really down. After the matrix no child may have crashed.

Setup: balancer://c on /app/ with members n1 (a) and n2 (b), stickysession
JSESSIONID|jsessionid; balancer://nf on /nf/ with nofailover=On, members n1 (a)
and n3 (a closed port); the balancer-manager on /balancer-manager.
"""
from dataclasses import dataclass

import pytest

import socket

from harness import MEMBER_DOWN, balancer_conf, field, free_port
from load import record

LIMIT = 8190  # httpd's default LimitRequestFieldSize and LimitRequestLine
STICKY_REPEATS = 4


@dataclass(frozen=True)
class Row:
    name: str
    target: str = "/app/x"       # request-target, sent as it is (str is UTF-8 encoded)
    headers: tuple = ()          # (name, value) pairs, sent as they are
    method: str = "GET"
    body: bytes = b""
    expect: tuple = (200,)       # acceptable statuses
    backend: str = ""            # the member that must answer, if sticky
    member_down: bool = False    # a 5xx is right: the bound member is really down
    why: str = ""


def cookie(value):
    return (("Cookie", value),)


ROWS = [
    # --- cookies ------------------------------------------------------------------
    Row("sticky cookie (control row)", headers=cookie("JSESSIONID=s.n2"), backend="b"),
    Row("cookie near LimitRequestFieldSize", headers=cookie("JSESSIONID=" + "A" * (LIMIT - 30) + ".n2"),
        why="value over 4096 bytes: ignored, balanced"),
    Row("cookie over LimitRequestFieldSize", headers=cookie("JSESSIONID=" + "A" * (LIMIT + 10) + ".n2"),
        expect=(400,), why="httpd refuses the header"),
    Row("many cookies, session last",
        headers=cookie("; ".join(f"c{i}=v{i}" for i in range(700)) + "; JSESSIONID=s.n2"), backend="b"),
    Row("90 Cookie header lines, session in the last",
        headers=tuple(("Cookie", f"c{i}=v") for i in range(89)) + (("Cookie", "JSESSIONID=s.n1"),),
        backend="a"),
    Row("150 Cookie header lines (over LimitRequestFields)",
        headers=tuple(("Cookie", f"c{i}=v") for i in range(150)), expect=(400,)),
    Row("empty Cookie header", headers=cookie("")),
    Row("cookie of separators only", headers=cookie(";;;,,, ; =;=")),
    Row("JSESSIONID= (empty value)", headers=cookie("JSESSIONID=")),
    Row("JSESSIONID=.", headers=cookie("JSESSIONID=.")),
    Row("JSESSIONID=..", headers=cookie("JSESSIONID=..")),
    Row("JSESSIONID=.n2. (route with a trailing dot)", headers=cookie("JSESSIONID=.n2.")),
    Row("control byte 0x01 in the value", headers=cookie("JSESSIONID=s\x01.n2"),
        expect=(400,), why="httpd's strict header parsing"),
    Row("DEL (0x7f) in the route", headers=cookie("JSESSIONID=s.n\x7f2"), expect=(400,)),
    Row("tab before the route", headers=cookie("JSESSIONID=\ts.n2"), backend="b"),
    Row("NUL byte in the cookie", headers=cookie("JSESSIONID=s.n2\x00x"), expect=(400,)),
    Row("%2E instead of the separator", headers=cookie("JSESSIONID=s%2En2"),
        why="no separator: no route, balanced"),
    Row("%3B after the route", headers=cookie("JSESSIONID=s.n2%3Bx=1"),
        why="route 'n2%3Bx' matches no member"),
    Row("UTF-8 in the route", headers=cookie("JSESSIONID=s.n2\u00e9".encode().decode("latin-1"))),
    Row("unknown route", headers=cookie("JSESSIONID=s.nosuch")),
    Row("route of 1000 characters", headers=cookie("JSESSIONID=s." + "r" * 1000)),
    Row("duplicated cookie, first wins", headers=cookie("JSESSIONID=s.n1; JSESSIONID=s.n2"),
        backend="a"),
    Row("duplicated Cookie headers, first wins",
        headers=(("Cookie", "JSESSIONID=s.n2"), ("Cookie", "JSESSIONID=s.n1")), backend="b"),
    Row("XJSESSIONID is another cookie", headers=cookie("XJSESSIONID=s.n2; JSESSIONID=s.n1"),
        backend="a"),
    Row("quoted value", headers=cookie('JSESSIONID="s.n2"'), backend="b"),
    # --- paths and ;jsessionid= ---------------------------------------------------------
    Row(";jsessionid= (control row)", target="/app/x;jsessionid=s.n2", backend="b"),
    Row(";jsessionid= empty", target="/app/x;jsessionid="),
    Row(";jsessionid=. and ..", target="/app/x;jsessionid=..;jsessionid=."),
    Row(";jsessionid= twice, first wins", target="/app/x;jsessionid=s.n2;jsessionid=s.n1",
        backend="b"),
    Row(";jsessionid= then /", target="/app/x;jsessionid=s.n2/y", backend="b"),
    Row(";jsessionid= then ?query", target="/app/x;jsessionid=s.n1?q=1", backend="a"),
    Row(";jsessionid= with %2E", target="/app/x;jsessionid=s%2En2"),
    Row(";jsessionid= with %3B tail", target="/app/x;jsessionid=s.n2%3Bjsessionid=s.n1",
        backend="b", why="httpd decodes the path: a repeated parameter, the first wins"),
    Row(";jsessionid= with %00 tail", target="/app/x;jsessionid=s.n2%00", expect=(404,),
        why="httpd refuses an encoded NUL in a path"),
    Row(";jsessionid= with a 1000-character route", target="/app/x;jsessionid=s." + "r" * 1000),
    Row("?jsessionid= query argument", target="/app/x?a=1&jsessionid=s.n2", backend="b"),
    Row("?jsessionid= first argument, route n1", target="/app/x?jsessionid=s.n1", backend="a"),
    Row("?jsessionid= first argument, route n2", target="/app/x?jsessionid=s.n2", backend="b"),
    Row("&jsessionid= after another argument", target="/app/x?q=1&jsessionid=s.n1",
        backend="a"),
    Row("?xjsessionid= is another argument", target="/app/x?xjsessionid=s.n2&jsessionid=s.n1",
        backend="a"),
    Row("raw UTF-8 in the path", target="/app/\u00e9t\u00e9;jsessionid=s.n2", backend="b"),
    Row("percent-encoded UTF-8 path", target="/app/%C3%A9t%C3%A9"),
    Row("path near LimitRequestLine", target="/app/" + "p" * (LIMIT - 40)),
    Row("path over LimitRequestLine", target="/app/" + "p" * (LIMIT + 10), expect=(414,)),
    Row("control byte in the path", target="/app/\x01", expect=(400,)),
    Row("dot segments", target="/app/../app/./x;jsessionid=s.n1", backend="a"),
    Row("many ;params", target="/app/x" + ";p=1" * 1500),
    # --- a member really down ------------------------------------------------------------
    Row("nofailover, route of a down member", target="/nf/x", headers=cookie("JSESSIONID=s.n3"),
        expect=(503,), member_down=True, why="ISB00010"),
    Row("nofailover, route of a live member", target="/nf/x", headers=cookie("JSESSIONID=s.n1"),
        backend="a"),
    # --- balancer-manager: views, forged and malformed edits ---------------------------
    # "{origin}" in a header is this front's own origin (send_raw fills it in).
    Row("manager: unknown parameter", target="/balancer-manager?foo=1", expect=(400,)),
    Row("manager: GET with an edit field", target="/balancer-manager?b=c&w=x&w_status_D=1",
        expect=(400,), why="a GET never edits"),
    Row("manager: stock's b/w/nonce on GET", target="/balancer-manager?format=json&w=x",
        expect=(200,), why="accepted and ignored, as stock's page links carry them"),
    Row("manager: xml view", target="/balancer-manager?format=xml"),
    Row("manager: empty format", target="/balancer-manager?format=", expect=(400,)),
    Row("manager: huge query string", target="/balancer-manager?format=json&" + "x" * 7000,
        expect=(400,)),
    Row("manager: query over LimitRequestLine", target="/balancer-manager?" + "x" * (LIMIT + 10),
        expect=(414,)),
    Row("manager: percent-encoded format", target="/balancer-manager?format=%6Ason"),
    Row("manager: bad percent-encoding", target="/balancer-manager?format=%zz", expect=(400,)),
    Row("manager: POST without Origin or Referer", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        body=b"b=c&w=http://x&w_status_D=1&nonce=x", expect=(403,)),
    Row("manager: POST from a foreign origin", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/x-www-form-urlencoded"),
                 ("Origin", "http://evil.example")),
        body=b"b=c&w=http://x&w_status_D=1&nonce=x", expect=(403,)),
    Row("manager: POST marked cross-site", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "{origin}"),
                 ("Sec-Fetch-Site", "cross-site")),
        body=b"b=c&w_lf=2&nonce=x", expect=(403,)),
    Row("manager: POST with a wrong nonce", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "{origin}")),
        body=b"b=c&b_tmo=5&nonce=00000000-0000-4000-8000-000000000000", expect=(403,)),
    Row("manager: POST with a value out of range", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "{origin}")),
        body=b"b=c&b_tmo=99999&nonce=x", expect=(400,)),
    Row("manager: POST of 20 KB", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "{origin}")),
        body=b"w_wr=" + b"a" * 20000, expect=(413,)),
    Row("manager: POST of binary garbage", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "{origin}")),
        body=bytes(range(256)), expect=(400,)),
    Row("manager: JSON of the wrong types", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/json"), ("Origin", "{origin}")),
        body=b'{"balancer": ["c"], "set": {"loadfactor": {"x": 1}}}', expect=(400,)),
    Row("manager: JSON nested deep", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "application/json"), ("Origin", "{origin}")),
        body=b'{"set":' * 1000, expect=(400,)),
    Row("manager: POST as text/xml", target="/balancer-manager", method="POST",
        headers=(("Content-Type", "text/xml"), ("Origin", "{origin}")), body=b"<x/>",
        expect=(415,)),
    Row("manager: DELETE", target="/balancer-manager", method="DELETE", expect=(405,)),
]


def send_raw(port, row):
    """One request on its own connection, bytes as the row has them; (status, body)."""
    lines = [f"{row.method} {row.target} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             "Connection: close"]
    lines += [f"{k}: {v}".replace("{origin}", f"http://127.0.0.1:{port}") for k, v in row.headers]
    if row.body:
        lines.append(f"Content-Length: {len(row.body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + row.body
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(raw)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
            if sum(map(len, chunks)) > 1 << 20:
                break
    resp = b"".join(chunks).decode("latin-1")
    status_line = resp.split("\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
    return status, resp.split("\r\n\r\n", 1)[-1]


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_bad_input_matrix(backends, httpd, mpm):
    a, b = backends(("a", "n1"), ("b", "n2"))
    down = f"http://127.0.0.1:{free_port()}"
    body = (balancer_conf([(a.url, "route=n1"), (b.url, "route=n2")],
                          proxyset="stickysession=JSESSIONID|jsessionid",
                          extra='ProxyPass "/balancer-manager" !\n'
                                'ProxyPass "/nf/" "balancer://nf/"')
            .replace('ProxyPass "/" "balancer://c/"', 'ProxyPass "/app/" "balancer://c/"')
            + f"""
<Proxy "balancer://nf">
    BalancerMember "{a.url}" route=n1
    BalancerMember "{down}" route=n3
    ProxySet stickysession=JSESSIONID nofailover=On
</Proxy>
<Location "/balancer-manager">
    SetHandler balancer-manager
    Require local
</Location>
""")
    h = httpd(body, mpm=mpm)
    # httpd's own notes on refused requests, and the down member / nofailover rows.
    h.allowed = MEMBER_DOWN + [r"AH00126", r"AH00565", r"AH02430", r"ISB00010", r"AH00567",
                               r"AH10244", r"AH01114"]
    children = set(h.child_pids())
    wrong, seen = [], []
    for row in ROWS:
        for _ in range(STICKY_REPEATS if row.backend else 1):
            status, text = send_raw(h.port, row)
            got = field(text, "backend") or ""
            seen.append({"row": row.name, "status": status, "backend": got})
            ok = status in row.expect and (not row.backend or got == row.backend)
            if status >= 500 and not row.member_down:
                ok = False
            if not ok:
                wrong.append(f"{row.name}: got {status} from {got or '-'}, want {row.expect}"
                             f"{' from ' + row.backend if row.backend else ''}")
                break
    record(f"bad_input_{mpm}", {"rows": len(ROWS), "wrong": len(wrong), "results": seen})
    assert not wrong, "\n".join(wrong)
    # Every child that served the matrix is still there, or left without a crash
    # (the error-log check after the test fails on any "exit signal").
    gone = children - set(h.child_pids())
    crashed = [ln for ln in h.error_log.read_text().splitlines()
               if "exit signal" in ln or "Segmentation" in ln]
    assert not crashed, (gone, crashed)

"""balancer-manager edits against a real httpd: stock's form fields, the JSON edit
API, add and remove, every child seeing a change, graceful and full restarts,
CSRF and bad-input refusals. Every refusal must leave the state as it was."""
import json
import re
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from harness import (MEMBER_DOWN, Client, Httpd, balancer_conf, field, free_port, read_to_close,
                     wait_for)

MANAGER = """
<Location "/balancer-manager">
    SetHandler balancer-manager
    Require local
</Location>
"""


def conf(members, proxyset="stickysession=JSESSIONID growth=2", name="c", top=""):
    return top + balancer_conf(members, name=name, proxyset=proxyset,
                               extra='ProxyPass "/balancer-manager" !') + MANAGER


class Manager:
    """Drives /balancer-manager the way the page's forms and a script do."""

    def __init__(self, h, balancer="c"):
        self.h, self.b = h, balancer
        self.cl = Client(h.port)
        self.origin = f"http://127.0.0.1:{h.port}"

    def doc(self):
        status, _, body, _ = self.cl.request("/balancer-manager?format=json")
        assert status == 200, body
        return json.loads(body)

    def balancer(self):
        (bal,) = [b for b in self.doc()["balancers"] if b["name"] == "balancer://" + self.b]
        return bal

    def member(self, url):
        (m,) = [m for m in self.balancer()["members"] if m["name"] == url]
        return m

    def nonce(self):
        return self.balancer()["nonce"]

    def post(self, fields, nonce=True, headers=None, raw=None):
        fields = dict(fields)
        fields.setdefault("b", self.b)
        if nonce is True:
            fields["nonce"] = self.nonce()
        elif nonce:
            fields["nonce"] = nonce
        hdrs = {"Content-Type": "application/x-www-form-urlencoded",
                "Referer": self.origin + "/balancer-manager"}
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        body = raw if raw is not None else urllib.parse.urlencode(fields)
        return self.cl.request("/balancer-manager", method="POST", body=body, headers=hdrs)

    def post_json(self, obj, headers=None):
        hdrs = {"Content-Type": "application/json", "Origin": self.origin}
        hdrs.update(headers or {})
        status, _, body, _ = self.cl.request("/balancer-manager", method="POST",
                                             body=json.dumps(obj), headers=hdrs)
        return status, json.loads(body)


def spread(h, n, workers=6):
    """n cookieless requests from several concurrent clients (so several children
    answer); returns {backend name: count}. Concurrent picks share the weights
    exactly only over many requests, so callers compare with even()."""
    cl = Client(h.port)

    def one(_):
        status, _, body, _ = cl.request("/x")
        return field(body, "backend") if status == 200 else f"status {status}"

    with ThreadPoolExecutor(workers) as pool:
        names = list(pool.map(one, range(n)))
    return {name: names.count(name) for name in set(names)}


def even(counts, *names, slack=3):
    """Every named member, and only those, got an equal share give or take `slack`."""
    total = sum(counts.values())
    return set(counts) == set(names) and all(
        abs(counts[n] - total / len(names)) <= slack for n in names)


def test_every_stock_field_applies(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]))
    mgr = Manager(h)
    status, _, page, _ = mgr.post({"w": a.url, "w_lf": "3.5", "w_ls": "1", "w_wr": "r1",
                                   "w_rr": "n2", "w_status_I": "1", "w_status_N": "1",
                                   "w_status_H": "1", "w_status_R": "0", "w_status_S": "0",
                                   "w_status_D": "0"})
    assert status == 200 and "Applied:" in page
    m = mgr.member(a.url)
    assert (m["loadfactor"], m["lbset"], m["route"], m["redirect"]) == (3.5, 1, "r1", "n2")
    assert m["status"]["ignore_errors"] and m["status"]["drain"] and m["status"]["hot_standby"]
    assert {d["field"] for d in m["differs"]} == {"loadfactor", "lbset", "route", "redirect",
                                                  "status"}
    status, _, _, _ = mgr.post({"b_lbm": "bybusyness", "b_tmo": "5", "b_max": "3",
                                "b_sforce": "1", "b_ss": "SID|sid", "b_nwrkr": "", "b_wyes": "0"})
    assert status == 200
    bal = mgr.balancer()
    assert (bal["lbmethod"], bal["timeout_us"], bal["maxattempts"], bal["nofailover"]) == (
        "bybusyness", 5_000_000, 3, True)
    assert bal["sticky"]["cookie"] == "SID" and bal["sticky"]["path"] == "sid"
    assert bal["edits"] == 2
    # The XML view carries the nonce, as stock's does, and so does a POST with xml=1.
    status, headers, xml, _ = mgr.cl.request("/balancer-manager?xml=1")
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    assert f"<httpd:nonce>{bal['nonce']}</httpd:nonce>" in xml
    status, headers, xml, _ = mgr.post({"w": b.url, "w_lf": "2", "xml": "1"})
    assert status == 200 and "<httpd:loadfactor>2</httpd:loadfactor>" in xml
    # Every edit is logged with who made it and old -> new.
    log = h.error_log.read_text()
    assert re.search(r"ISB00028: .*edit by 127\.0\.0\.1 \(user -\) of balancer://c: member "
                     + re.escape(a.url) + r": loadfactor 1 -> 3\.5", log), log
    assert "lbmethod byrequests -> bybusyness" in log


def test_a_change_is_seen_by_every_child(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]), mpm="prefork")
    assert even(spread(h, 40), "a", "b")
    assert Manager(h).post({"w": a.url, "w_status_D": "1"})[0] == 200
    assert spread(h, 60) == {"b": 60}
    pids = {line.split()[1] for line in h.access_entries()[-60:]}
    assert len(pids) >= 2, "the requests after the edit should come from several children"
    assert Manager(h).post({"w": a.url, "w_status_D": "0"})[0] == 200
    assert even(spread(h, 40), "a", "b")


def test_add_then_remove_a_member_and_traffic_follows(backends, httpd):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]), mpm="prefork")
    mgr = Manager(h)
    assert mgr.balancer()["free_slots"] == 2
    # Added and enabled in one POST: stock adds it disabled, then w= edits it.
    status, _, page, _ = mgr.post({"b_nwrkr": c.url, "b_wyes": "1", "w": c.url,
                                   "w_wr": "n3", "w_status_D": "0"})
    assert status == 200, page
    assert mgr.member(c.url)["added"] and mgr.balancer()["free_slots"] == 1
    assert even(spread(h, 60), "a", "b", "c")
    # A sticky session for the new member reaches it from any child.
    for _ in range(6):
        assert field(mgr.cl.request("/x", headers={"Cookie": "JSESSIONID=s.n3"})[2],
                     "backend") == "c"
    status, _, _, _ = mgr.post({"b_nwrkr": c.url, "b_wyes": "1"})
    assert status == 409  # already a member
    status, _, _, _ = mgr.post({"w": c.url, "w_remove": "1"})
    assert status == 200
    assert c.url not in [m["name"] for m in mgr.balancer()["members"]]
    assert even(spread(h, 40), "a", "b")
    # A configured member can be removed too, and the page says so.
    assert mgr.post({"w": b.url, "w_remove": "1"})[0] == 200
    assert spread(h, 10) == {"a": 10}
    assert mgr.balancer()["removed"] == [b.url]
    # The removed member's slot is reused.
    status, _, page, _ = mgr.post({"b_nwrkr": c.url, "b_wyes": "1", "w": c.url,
                                   "w_status_D": "0"})
    assert status == 200, page
    assert spread(h, 20, workers=1) == {"a": 10, "c": 10}  # one at a time: exact


def test_credit_starts_again_when_an_edit_adds_and_enables_a_member(backends, httpd):
    """Stock's need_reset: a member that comes into service, including one the same
    form adds and enables, puts every member's byrequests credit back to zero."""
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]), mpm="prefork")
    mgr = Manager(h)

    def credit():
        return {m["name"]: m["lbstatus"] for m in mgr.balancer()["members"]}

    for _ in range(3):  # sticky hits skew the credit: a pays, b earns
        assert field(mgr.cl.request("/x", headers={"Cookie": "JSESSIONID=s.n1"})[2],
                     "backend") == "a"
    assert credit()[a.url] != 0
    status, _, page, _ = mgr.post({"b_nwrkr": c.url, "b_wyes": "1", "w": c.url, "w_wr": "n3",
                                   "w_status_D": "0"})
    assert status == 200, page
    assert set(credit().values()) == {0}, credit()


def test_no_free_slot_is_a_conflict(backends, httpd):
    a, c = backends(("a", "n1"), ("c", "n3"))
    h = httpd(conf([(a.url, "route=n1")], proxyset="stickysession=JSESSIONID"))
    mgr = Manager(h)
    status, _, page, _ = mgr.post({"b_nwrkr": c.url, "b_wyes": "1", "b_tmo": "9"})
    assert status == 409 and "growth" in page
    assert mgr.balancer()["timeout_us"] == 0  # nothing of the refused edit applied


def test_free_slots_counts_only_what_an_add_can_take(backends, httpd):
    """A removed member's slot is reused only once nothing is in flight on it, so
    while a request still runs there, free_slots must not offer it."""
    a, c, d = backends(("a", "n1"), ("c", "n3"), ("d", "n4"))
    h = httpd(conf([(a.url, "route=n1")], proxyset="stickysession=JSESSIONID growth=1"))
    mgr = Manager(h)
    assert mgr.post({"b_nwrkr": c.url, "b_wyes": "1", "w": c.url, "w_wr": "n3",
                     "w_status_D": "0"})[0] == 200
    assert mgr.balancer()["free_slots"] == 0
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(lambda: Client(h.port).request(
            "/sleep/2500", headers={"Cookie": "JSESSIONID=s.n3"}))
        wait_for(lambda: mgr.member(c.url)["busy"] == 1, timeout=5, what="a request on c")
        assert mgr.post({"w": c.url, "w_remove": "1"})[0] == 200
        assert mgr.balancer()["free_slots"] == 0
        assert mgr.post({"b_nwrkr": d.url, "b_wyes": "1"})[0] == 409
        assert field(slow.result(timeout=10)[2], "backend") == "c"
    wait_for(lambda: mgr.balancer()["free_slots"] == 1, timeout=5, what="the slot to be free")
    assert mgr.post({"b_nwrkr": d.url, "b_wyes": "1"})[0] == 200


def test_edits_survive_graceful_restarts(backends, httpd):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    members = [(a.url, "route=n1"), (b.url, "route=n2")]
    h = httpd(conf(members))
    mgr = Manager(h)
    assert mgr.post({"w": a.url, "w_lf": "4", "w_status_D": "1"})[0] == 200
    assert mgr.post({"b_lbm": "bytraffic", "b_nwrkr": c.url, "b_wyes": "1"})[0] == 200
    nonce = mgr.nonce()
    for _ in range(5):
        mgr.cl.request("/x")
    elected = {m["name"]: m["elected"] for m in mgr.balancer()["members"]}

    h.graceful()  # same configuration: the segment is kept, counters included
    bal = mgr.balancer()
    assert {m["name"]: m["elected"] for m in bal["members"]} == elected
    assert mgr.member(a.url)["loadfactor"] == 4 and bal["lbmethod"] == "bytraffic"
    assert bal["nonce"] == nonce

    h.graceful(conf(members, proxyset="stickysession=JSESSIONID growth=2 maxattempts=1"))
    bal = mgr.balancer()
    assert "ISB00023" in h.error_log.read_text()
    assert mgr.member(a.url)["loadfactor"] == 4 and not mgr.member(a.url)["usable"]
    assert bal["lbmethod"] == "bytraffic" and bal["maxattempts"] == 1
    assert mgr.member(c.url)["added"] and mgr.member(c.url)["status"]["disabled"]
    assert spread(h, 10) == {"b": 10}


def run_full_restart(backends, persist):
    a, b = backends(("a", "n1"), ("b", "n2"))
    top = "BalancerPersist On\n" if persist else ""
    h = Httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")], top=top))
    try:
        h.start()
        mgr = Manager(h)
        assert mgr.post({"w": b.url, "w_lf": "7", "w_wr": "x2"})[0] == 200
        h.stop()
        h.start()
        return Manager(h).member(b.url), h.error_log.read_text()
    finally:
        h.cleanup()


def test_full_restart_keeps_edits_with_balancer_persist(backends):
    m, log = run_full_restart(backends, persist=True)
    assert (m["loadfactor"], m["route"]) == (7, "x2")
    assert "ISB00023" in log


def test_full_restart_forgets_edits_without_balancer_persist(backends):
    m, _ = run_full_restart(backends, persist=False)
    assert (m["loadfactor"], m["route"]) == (1, "n2")


def test_forged_edits_are_refused_and_change_nothing(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]))
    mgr = Manager(h)
    before = mgr.doc()["balancers"]
    edit = {"w": a.url, "w_status_D": "1"}
    evil = "http://evil.example"
    assert mgr.post(edit, headers={"Origin": evil})[0] == 403
    assert mgr.post(edit, headers={"Origin": "null"})[0] == 403
    assert mgr.post(edit, headers={"Referer": None})[0] == 403
    assert mgr.post(edit, headers={"Referer": evil + "/balancer-manager"})[0] == 403
    assert mgr.post(edit, headers={"Referer": f"http://127.0.0.1:{h.port}@evil/"})[0] == 403
    assert mgr.post(edit, headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert mgr.post(edit, nonce=False)[0] == 403
    assert mgr.post(edit, nonce="0" * 36)[0] == 403
    assert mgr.post(edit, nonce=mgr.nonce()[:-1])[0] == 403
    status, body = mgr.post_json({"balancer": "c", "member": a.url, "set": {"disabled": True},
                                  "nonce": mgr.nonce()}, headers={"Origin": evil})
    assert status == 403 and body["error"]["field"] == "Origin"
    form = urllib.parse.urlencode({"b": "c", "w": a.url, "w_status_D": "1",
                                   "nonce": mgr.nonce()})
    status, _, body, _ = mgr.cl.request("/balancer-manager?" + form)
    assert status == 400 and "GET never changes" in body
    assert mgr.cl.request("/balancer-manager?" + form, method="POST")[0] == 400
    assert mgr.doc()["balancers"] == before


def test_bad_values_get_400_naming_the_field(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]))
    mgr = Manager(h)
    before = mgr.doc()["balancers"]
    for fields, name in [({"w": a.url, "w_lf": "101"}, "w_lf"),
                         ({"w": a.url, "w_lf": "2", "w_ls": "-1"}, "w_ls"),
                         ({"w": a.url, "w_wr": "<script>"}, "w_wr"),
                         ({"w": a.url, "w_rr": "x" * 64}, "w_rr"),
                         ({"w": a.url, "w_status_D": "yes"}, "w_status_D"),
                         ({"w": "http://nope:1", "w_lf": "2"}, "w"),
                         ({"b": "nope", "w": a.url, "w_lf": "2"}, "b"),
                         ({"b_lbm": "heartbeat"}, "b_lbm"),
                         ({"b_tmo": "99999"}, "b_tmo"),
                         ({"b_nwrkr": "gopher://x", "b_wyes": "1"}, "b_nwrkr"),
                         ({"w": a.url, "w_hi": "1000"}, "w_hi"),
                         ({"bogus": "1"}, "bogus")]:
        status, _, body, _ = mgr.post(fields)
        assert status == 400 and f"<code>{name}</code>" in body, (fields, status, body)
    status, body = mgr.post_json({"balancer": "c", "member": a.url, "nonce": mgr.nonce(),
                                  "set": {"loadfactor": 0}})
    assert status == 400 and body["error"]["field"] == "w_lf"
    status, body = mgr.post_json({"balancer": "c", "set": {"frobnicate": 1}})
    assert status == 400 and body["error"]["field"] == "set.frobnicate"
    assert mgr.doc()["balancers"] == before


def test_oversized_and_garbage_requests_get_4xx(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]))
    mgr = Manager(h)
    before = mgr.doc()["balancers"]
    assert mgr.post({}, raw="w_wr=" + "a" * 20000)[0] == 413
    assert mgr.post({}, raw="%%%\x01&&==")[0] == 400
    assert mgr.post({}, raw="\xff\xfe" * 100)[0] == 400
    assert mgr.post({}, raw="a=1&" * 100)[0] == 400
    assert mgr.post({}, raw="{}", headers={"Content-Type": "text/plain"})[0] == 415
    assert mgr.post({}, raw='{"balancer":', headers={"Content-Type": "application/json"})[0] == 400
    assert mgr.cl.request("/balancer-manager", method="PUT", body="x")[0] == 405
    assert mgr.cl.request("/balancer-manager?format=" + "x" * 5000)[0] == 400
    assert mgr.cl.request("/balancer-manager?%zz")[0] == 400
    assert mgr.doc()["balancers"] == before
    assert even(spread(h, 10), "a", "b")


def test_json_edit_api(backends, httpd):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]))
    mgr = Manager(h)
    status, body = mgr.post_json({"nonce": mgr.nonce(), "balancer": "c", "member": b.url,
                                  "set": {"loadfactor": 2, "drain": True, "lbset": 0}})
    assert status == 200 and body["ok"], body
    assert body["changes"] == [f"member {b.url}: loadfactor 1 -> 2", f"member {b.url}: status "
                               '"" -> N']
    status, body = mgr.post_json({"nonce": mgr.nonce(), "balancer": "c", "add": c.url,
                                  "member": c.url, "set": {"disabled": False}})
    assert status == 200 and mgr.member(c.url)["usable"]
    status, body = mgr.post_json({"nonce": mgr.nonce(), "balancer": "c", "member": c.url,
                                  "remove": True})
    assert status == 200 and body["changes"] == [f"member {c.url} removed"]
    # An edit that asks for nothing (or changes nothing) is answered in JSON too.
    for nothing in ({}, {"set": {}}, {"member": a.url, "set": {"loadfactor": 1}}):
        status, body = mgr.post_json({"nonce": mgr.nonce(), "balancer": "c", **nothing})
        assert status == 200 and body == {"ok": True, "balancer": "balancer://c",
                                          "changes": []}, body


def test_markup_in_configuration_stays_escaped_in_forms(backends, httpd):
    a, b = backends("a", "b")
    h = httpd(conf([(a.url, "route=x'\"><img/src=y>"), (b.url, "route=ok")]))
    _, headers, html, _ = Client(h.port).request("/balancer-manager")
    assert "<img" not in html
    assert 'value="x&#39;&quot;&gt;&lt;img/src=y&gt;"' in html
    csp = headers["Content-Security-Policy"]
    assert "script-src 'nonce-" in csp and "form-action 'self'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    scripts = re.findall(r"<script([^>]*)>", html)
    nonce = re.search(r"'nonce-([0-9a-f]+)'", csp).group(1)
    assert scripts == [f' nonce="{nonce}"']


def test_a_member_down_after_edits_is_still_reported(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1 retry=30"), (b.url, "route=n2")]))
    h.allowed = MEMBER_DOWN
    mgr = Manager(h)
    assert mgr.post({"w": a.url, "w_lf": "2"})[0] == 200
    a.stop()
    assert set(spread(h, 10)) == {"b"}
    assert not mgr.member(a.url)["usable"] and mgr.member(a.url)["loadfactor"] == 2


def nonce_from_links(page, balancer):
    """What httpd's own test of the stock page does: the nonce from the
    ?b=<balancer>&amp;...nonce=... links of the HTML page."""
    for chunk in page.split("?b=")[1:]:
        if not chunk.startswith(balancer):
            continue
        for var in chunk.split("&amp;"):
            if var.startswith("nonce="):
                return var[len("nonce="):].split('"')[0]
    return None


def test_the_stock_script_flow_of_httpds_own_test(backends, httpd):
    """The steps of httpd-tests' t/modules/proxy_balancer.t against a member-less
    balancer with growth: read the nonce from the page's links, add a member,
    enable it, and the balancer serves."""
    (a,) = backends(("a", "n1"))
    h = httpd("""
<Proxy "balancer://dynproxy">
    ProxySet growth=10
</Proxy>
ProxyPass "/dynproxy" "balancer://dynproxy/"
""" + MANAGER)
    h.allowed = [r"ISB00011: balancer://dynproxy: the balancer has no members"]
    cl = Client(h.port)
    status, _, page, _ = cl.request("/balancer-manager")
    assert status == 200
    nonce = nonce_from_links(page, "dynproxy")
    assert nonce and re.fullmatch(r"[0-9a-f-]{36}", nonce)
    referer = {"Referer": f"http://127.0.0.1:{h.port}/balancer-manager",
               "Content-Type": "application/x-www-form-urlencoded"}
    ajp = ("b_lbm=byrequests&b_tmo=0&b_max=0&b_sforce=0&b_ss=&b_nwrkr=ajp%3A%2F%2F%5B0%3A0%3A0%3A0"
           "%3A0%3A0%3A0%3A1%5D%3A8080&b_wyes=1&b=dynproxy&nonce=" + nonce)
    # Without a Referer stock answers 200 and ignores the edit; ours says 403.
    status, _, body, _ = cl.request("/balancer-manager", method="POST", body=ajp,
                                    headers={"Content-Type": referer["Content-Type"]})
    assert status == 403 and "ajp" not in body
    assert cl.request("/dynproxy")[0] == 503
    url = urllib.parse.quote(a.url, safe="")
    add = ("b_lbm=byrequests&b_tmo=0&b_max=0&b_sforce=0&b_ss=&b_nwrkr=" + url +
           "&b_wyes=1&b=dynproxy&nonce=" + nonce)
    assert cl.request("/balancer-manager", method="POST", body=add, headers=referer)[0] == 200
    enable = "w=" + url + "&b=dynproxy&w_status_D=0&nonce=" + nonce
    assert cl.request("/balancer-manager", method="POST", body=enable, headers=referer)[0] == 200
    status, _, body, _ = cl.request("/dynproxy")
    assert status == 200 and field(body, "backend") == "a"


def test_health_check_fields_with_mod_proxy_hcheck(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1 hcmethod=GET hcuri=/"), (b.url, "route=n2")]),
              modules=("proxy_hcheck",))
    mgr = Manager(h)
    _, _, page, _ = mgr.cl.request("/balancer-manager")
    assert 'name="w_hm"' in page and 'name="w_status_C"' in page
    status, _, body, _ = mgr.post({"w": b.url, "w_hm": "HEAD", "w_hi": "5000", "w_hp": "2",
                                   "w_hf": "3", "w_hu": "/health"})
    assert status == 200, body
    hc = mgr.member(b.url)["health_check"]
    assert hc == {"method": "HEAD", "interval_ms": 5000, "passes": 2, "fails": 3,
                  "uri": "/health", "expr": ""}
    status, _, body, _ = mgr.post({"w": b.url, "w_hm": "BOGUS"})
    assert status == 400 and "<code>w_hm</code>" in body


def test_concurrent_conflicting_edits_serialise(backends, httpd):
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]), mpm="prefork")
    mgr = Manager(h)
    nonce = mgr.nonce()

    def edit(i):
        m = Manager(h)
        fields = {"w": a.url, "w_lf": str(1 + i % 9), "w_ls": str(i % 3), "nonce": nonce}
        if i % 4 == 0:  # some also race to add and remove the same member
            fields = {"b_nwrkr": c.url, "b_wyes": "1", "nonce": nonce} if i % 8 == 0 else {
                "w": c.url, "w_remove": "1", "nonce": nonce}
        return m.post(fields, nonce=False)[0]

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(edit, range(48)))
    # Each edit either applied, or found the member already there or already gone.
    assert set(codes) <= {200, 400, 409}, codes
    assert codes.count(200) >= 30
    m = mgr.member(a.url)
    assert m["loadfactor"] in range(1, 10) and m["lbset"] in range(3)
    served = spread(h, 30)
    assert set(served) <= {"a", "b", "c"} and sum(served.values()) == 30
    # busy drops when a request's pool goes, just after its response: wait (bounded).
    wait_for(lambda: all(x["busy"] == 0 for x in mgr.balancer()["members"]), timeout=5,
             what="busy counts back to 0")


def test_trusted_origins_and_script_edits_are_the_operators_choice(backends, httpd):
    """A TLS-terminating proxy in front of httpd: the browser's Origin is the
    proxy's, which httpd cannot know unless told (ISBalancerManagerTrustedOrigin).
    Another port of the same host is another origin (stock compares host names
    only). Scripts without Origin and Referer edit only with
    ISBalancerManagerScriptEdits On, and never when they look like a browser."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    proxy = "https://admin.example.com"
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]).replace(
        "    Require local\n",
        f"    Require local\n    ISBalancerManagerTrustedOrigin {proxy.upper()}:443\n"))
    h.allowed = [r"ISB00026"]
    mgr = Manager(h)
    lf = lambda n: {"w": a.url, "w_lf": str(n)}  # noqa: E731
    assert mgr.post(lf(2), headers={"Referer": None, "Origin": proxy})[0] == 200
    assert mgr.post(lf(3), headers={"Referer": proxy + "/balancer-manager"})[0] == 200
    assert mgr.member(a.url)["loadfactor"] == 3
    other_port = f"http://127.0.0.1:{h.port + 1}"
    for headers in ({"Referer": other_port + "/balancer-manager"}, {"Origin": other_port},
                    {"Origin": "https://admin.example.com:8443"}, {"Referer": None}):
        status, _, body, _ = mgr.post(lf(4), headers=headers)
        assert status == 403, headers
    assert "ISBalancerManagerScriptEdits" in body  # names the directive that would allow it
    assert mgr.member(a.url)["loadfactor"] == 3

    h.write_config(h.body.replace("    Require local\n",
                                  "    Require local\n    ISBalancerManagerScriptEdits On\n"))
    h.graceful()
    assert mgr.post(lf(5), headers={"Referer": None})[0] == 200
    # A browser (it sends Sec-Fetch-*) without Origin or Referer is still refused,
    # and so is an edit without the nonce.
    assert mgr.post(lf(6), headers={"Referer": None, "Sec-Fetch-Mode": "navigate"})[0] == 403
    assert mgr.post(lf(7), headers={"Referer": None}, nonce=False)[0] == 403
    assert mgr.member(a.url)["loadfactor"] == 5


def test_bad_manager_directives_stop_httpd_naming_the_fix(backends, httpd):
    (a,) = backends(("a", "n1"))
    for line, says in (("ISBalancerManagerTrustedOrigin https://admin.example.com/",
                        "'https://admin.example.com/' is not an origin; write "
                        "scheme://host[:port]"),
                       ("ISBalancerManagerTrustedOrigin admin.example.com", "is not an origin"),
                       ("ISBalancerManagerScriptEdits maybe", "must be On or Off"),
                       ("ISBalancerManagerTrustedOrigin http://a..b", "is not an origin"),
                       ('</Location>\n<Proxy "balancer://c">\nISBalancerManagerScriptEdits On\n'
                        '</Proxy>\n<Location "/x">', "not in <Proxy balancer://c>")):
        h = httpd(conf([(a.url, "route=n1")]).replace("    Require local\n",
                                                      f"    Require local\n    {line}\n"),
                  start=False)
        rc, err = h.try_start()
        assert rc != 0 and says in err, (line, err)


def test_posting_to_a_member_link_edits_that_member_only(backends, httpd):
    """Stock's scripts post to the page's ?b=&w=&nonce= link; the body says what
    changes, and a link that names another member than the body is refused."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")]))
    mgr = Manager(h)
    nonce = mgr.nonce()
    link = f"/balancer-manager?b=c&w={b.url}&nonce={nonce}"
    hdrs = {"Content-Type": "application/x-www-form-urlencoded", "Referer": mgr.origin + link}
    body = f"b=c&w={b.url}&nonce={nonce}&w_status_N=1"
    assert mgr.cl.request(link, method="POST", body=body, headers=hdrs)[0] == 200
    assert mgr.member(b.url)["status"]["drain"] and not mgr.member(a.url)["status"]["drain"]
    wrong = f"b=c&w={a.url}&nonce={nonce}&w_status_D=1"
    status, _, page, _ = mgr.cl.request(link, method="POST", body=wrong, headers=hdrs)
    assert status == 400 and "<code>w</code>" in page
    assert not mgr.member(a.url)["status"]["disabled"]
    # The link's GET shows that member's form alone; one that names nothing is a 404.
    status, _, page, _ = mgr.cl.request(link)
    assert status == 200 and page.count('name="w_lf"') == 1
    assert f'<input type="hidden" name="w" value="{b.url}">' in page
    assert mgr.cl.request(f"/balancer-manager?b=c&w=http://127.0.0.1:1&nonce={nonce}")[0] == 404
    assert mgr.cl.request("/balancer-manager?b=nope")[0] == 404


def raw(port, text):
    """One request as written, on its own connection; returns (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(text.encode())
        data = read_to_close(s)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def test_dns_rebinding_names_get_nothing(backends, httpd):
    """A page of rebind.attacker.example whose name resolves to this server sends
    its own name in Host and Origin: it may neither read the nonces nor edit."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    port = free_port()
    h = httpd(f"<VirtualHost 127.0.0.1:{port}>\nServerName 127.0.0.1\n"
              "ServerAlias *.admin.example\n" + conf([(a.url, "route=n1"), (b.url, "route=n2")])
              + "</VirtualHost>\n", port=port)
    mgr = Manager(h)
    nonce = mgr.nonce()
    evil = f"rebind.attacker.example:{h.port}"
    status, _, body, _ = mgr.cl.request("/balancer-manager?format=json", headers={"Host": evil})
    assert status == 403 and nonce not in body and "ServerAlias" in body
    status, _, body, _ = mgr.cl.request("/balancer-manager", headers={"Host": evil})
    assert status == 403 and nonce not in body
    form = urllib.parse.urlencode({"b": "c", "w": a.url, "w_status_D": "1", "nonce": nonce})
    status, _, _, _ = mgr.cl.request(
        "/balancer-manager", method="POST", body=form,
        headers={"Host": evil, "Origin": "http://" + evil,
                 "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and not mgr.member(a.url)["status"]["disabled"]
    for host in (f"localhost:{h.port}", f"127.0.0.1:{h.port}", "ops.admin.example"):
        status, _, body, _ = mgr.cl.request("/balancer-manager?format=json",
                                            headers={"Host": host})
        assert status == 200 and nonce in body, host
    # Without Host (HTTP/1.0), the page's origin is the server's name and the port
    # the connection came in on.
    own, portless = f"http://127.0.0.1:{h.port}/balancer-manager", "http://127.0.0.1/x"
    for referer, want in ((portless, 403), (own, 200)):
        status, body = raw(h.port, (
            "POST /balancer-manager HTTP/1.0\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Referer: {referer}\r\nContent-Length: {len(form)}\r\n\r\n{form}"))
        assert status == want, (referer, body[:300])
    assert mgr.member(a.url)["status"]["disabled"]


def test_one_member_however_its_url_is_spelled(backends, httpd):
    """A member URL is compared in one normal form everywhere (add, edit): the
    default port, scheme and host case and a lone trailing '/' do not make
    another member, while the path's case does."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1")], proxyset="stickysession=JSESSIONID growth=4"))
    mgr = Manager(h)
    assert mgr.post({"b_nwrkr": "http://127.0.0.1:80", "b_wyes": "1"})[0] == 200
    assert mgr.post({"b_nwrkr": "http://127.0.0.1:80", "b_wyes": "1"})[0] == 409
    assert mgr.post({"b_nwrkr": "HTTP://127.0.0.1/", "b_wyes": "1"})[0] == 409
    assert mgr.post({"b_nwrkr": a.url + "/", "b_wyes": "1"})[0] == 409
    # An edit names the member in any of its spellings.
    assert mgr.post({"w": a.url.upper().replace("HTTP", "http") + "/", "w_lf": "3"})[0] == 200
    assert mgr.member(a.url)["loadfactor"] == 3
    assert mgr.post({"w": "http://127.0.0.1:80/", "w_remove": "1"})[0] == 200
    # Paths are case-sensitive: two members.
    assert mgr.post({"b_nwrkr": b.url + "/App", "b_wyes": "1"})[0] == 200
    assert mgr.post({"b_nwrkr": b.url + "/app", "b_wyes": "1"})[0] == 200
    names = sorted(m["name"] for m in mgr.balancer()["members"])
    assert names == sorted([a.url, b.url + "/App", b.url + "/app"])


def test_an_edit_that_outlives_its_generation_is_refused_not_lost(backends, httpd):
    """An edit still on its way when a graceful restart with a changed
    configuration carries the old generation's edits over: the old child must not
    answer 200 for a change the new generation will never have (nor write it to
    the state file over newer edits). It answers 503; the client sends it again."""
    a, b, c = backends(("a", "n1"), ("b", "n2"), ("c", "n3"))
    members = [(a.url, "route=n1"), (b.url, "route=n2")]
    top = "BalancerPersist On\n"
    h = httpd(conf(members, top=top), mpm="prefork")
    mgr = Manager(h)
    assert mgr.post({"w": a.url, "w_lf": "2"})[0] == 200
    body = urllib.parse.urlencode({"b": "c", "w": b.url, "w_lf": "9", "nonce": mgr.nonce()})
    with socket.create_connection(("127.0.0.1", h.port), timeout=20) as s:
        s.sendall((f"POST /balancer-manager HTTP/1.1\r\nHost: 127.0.0.1:{h.port}\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n"
                   f"Referer: {mgr.origin}/balancer-manager\r\nConnection: close\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n{body[:-1]}").encode())
        time.sleep(0.5)  # the child has the request and waits for the body's last byte
        h.graceful(conf(members + [(c.url, "route=n3")], top=top))
        s.sendall(body[-1:].encode())
        reply = read_to_close(s)
    assert reply.split()[1] == b"503" and b"restarting" in reply, reply[:300]
    assert mgr.member(b.url)["loadfactor"] == 1 and mgr.member(a.url)["loadfactor"] == 2
    assert mgr.post({"w": a.url, "w_lf": "5"})[0] == 200
    h.allowed = [r"AH00098"]  # the pid file of the killed parent
    h.kill9()
    h.start()
    assert mgr.member(a.url)["loadfactor"] == 5 and mgr.member(b.url)["loadfactor"] == 1

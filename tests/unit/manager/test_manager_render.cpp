#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/manager/manager_model.hpp"
#include "core/member/status.hpp"

using namespace isb;

namespace {

ManagerSnapshot sample() {
  ManagerSnapshot s;
  s.server = "front<1>";
  s.now_us = 1'700'000'000'000'000;
  BalancerSnapshot b;
  b.name = "balancer://wso2.identity.domain";
  b.lbmethod = "byrequests";
  b.sticky_cookie = "JSESSIONID";
  b.sticky_path = "jsessionid";
  b.max_attempts = 1;
  b.unavailable = 3;
  b.settings.retry_budget_percent = 25;
  b.settings.retry_budget_floor = 2;
  b.in_flight = 12;
  b.retries_in_flight = 1;
  b.retries = 7;
  b.retries_refused = 5;
  b.unsafe_retries_refused = 1;
  MemberSnapshot m;
  m.name = "https://localhost:9443";
  m.route = "isNode1";
  m.status = kInitialized;
  m.weight = 150;
  m.effective_weight = 150;
  m.elected = 42;
  m.sticky = 40;
  m.busy = 2;
  m.bytes_sent = 1000;
  m.bytes_received = 5000;
  b.members.push_back(m);
  MemberSnapshot evil;
  evil.name = "http://x\"/<script>alert(1)</script>";
  evil.route = "<img src=x onerror=alert(1)>";
  evil.redirect = "a\\b\nc";
  evil.status = kInitialized | kDisabled | kInError;
  evil.weight = 100;
  evil.effective_weight = 25;                     // ramping after a slow start
  evil.ejected_until_us = 1'700'000'030'000'000;  // ejected for 30 s more, the 2nd time
  evil.ejections = 2;
  evil.consecutive_5xx = 1;
  evil.consecutive_gateway = 1;
  b.members.push_back(evil);
  s.balancers.push_back(b);
  return s;
}

}  // namespace

TEST_CASE("status text is stock's", "[manager]") {
  CHECK(status_text(kInitialized) == "Init Ok ");
  CHECK(status_text(kInitialized | kDisabled) == "Init Dis ");
  CHECK(status_text(kInitialized | kHotStandby) == "Init Stby Ok ");
  CHECK(status_text(kInitialized | kDrain | kInError) == "Init Drn Err ");
  CHECK(status_text(0) == "??? ");
}

TEST_CASE("html escapes everything it prints", "[manager][html]") {
  CHECK(escape_html("<a href='x'>\"&\"</a>") ==
        "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;");
  std::string html = render_html(sample());
  // The page's only script is its own, under a CSP nonce.
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("<script nonce=") != std::string::npos);
  CHECK(html.find("alert(1)</script>") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(html.find("front&lt;1&gt;") != std::string::npos);
  CHECK(html.find("data-k=\"loadfactor\">1.5</td>") != std::string::npos);  // loadfactor 1.5
  CHECK(html.find("data-k=\"loadfactor\">1 (now 0.25)</td>") != std::string::npos);  // ramping
  CHECK(html.find("Init Dis Err") != std::string::npos);
  CHECK(html.find("data-k=\"ejected\">until 2023-11-14 22:13:50 UTC (2 times)</td>") !=
        std::string::npos);
  CHECK(html.find("data-k=\"ejected\">no</td>") != std::string::npos);
  CHECK(html.find("data-k=\"failing\">1 / 1</td>") != std::string::npos);
  CHECK(html.find("<p data-k=\"failovers\">Failovers: 7 (refused: budget 5, body 1)</p>") !=
        std::string::npos);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
}

TEST_CASE("json has the documented schema and escapes strings", "[manager][json]") {
  std::string json = render_json(sample());
  CHECK(json.rfind("{\"schema\":\"isbalancer.manager/1\",\"server\":\"front\\u003c1\\u003e\"", 0) ==
        0);
  CHECK(json.find("\"name\":\"balancer://wso2.identity.domain\"") != std::string::npos);
  CHECK(json.find("\"sticky\":{\"cookie\":\"JSESSIONID\",\"path\":\"jsessionid\","
                  "\"separator\":\".\"}") != std::string::npos);
  CHECK(json.find("\"route\":\"isNode1\",\"redirect\":\"\",\"usable\":true") != std::string::npos);
  CHECK(json.find("\"loadfactor\":1.5,\"lbset\":0,\"busy\":2,\"elected\":42,\"sticky\":40") !=
        std::string::npos);
  CHECK(json.find("\"redirect\":\"a\\\\b\\nc\"") != std::string::npos);
  CHECK(json.find("<") == std::string::npos);
  CHECK(json.find("\"disabled\":true") != std::string::npos);
  CHECK(json.find("\"usable\":false") != std::string::npos);
  // Slow start: the weight now, after the keys version 1 began with.
  CHECK(json.find("\"effective_loadfactor\":1.5,\"slowstart_s\":0,\"in_service_since_us\":0") !=
        std::string::npos);
  CHECK(json.find("\"effective_loadfactor\":0.25") != std::string::npos);
  // Outlier ejection, after slow start's keys.
  CHECK(json.find("\"in_service_since_us\":0,\"slowstartatstart\":false,\"ejected\":false,"
                  "\"ejected_until_us\":0,"
                  "\"ejections\":0,\"ejections_capped\":0,\"consecutive_5xx\":0,"
                  "\"consecutive_gateway\":0") != std::string::npos);
  CHECK(json.find("\"ejected\":true,\"ejected_until_us\":1700000030000000,\"ejections\":2") !=
        std::string::npos);
  // ... and the ejection settings, so that a script can read what it set.
  CHECK(json.find("\"consecutive_gateway\":0,\"eject5xx\":0,\"ejectgateway\":0,"
                  "\"ejectfailpercent\":0,\"ejectminrequests\":50,"
                  "\"ejecttime_s\":30,\"ejectmaxtime_s\":300,\"ejectsessions\":false") !=
        std::string::npos);
  // The retry budget, beside the balancer's other 503s.
  CHECK(json.find("\"unavailable\":3,\"retry_budget\":{\"percent\":25,\"floor\":2,"
                  "\"in_flight\":12,\"retries_in_flight\":1,\"retries\":7,\"refused\":5,"
                  "\"unsafe_refused\":1},\"ejectpercent\":10,\"nonce\":") != std::string::npos);
}

TEST_CASE("prometheus text: names, labels, escaping", "[manager][prometheus]") {
  std::string text = render_prometheus(sample());
  CHECK(text.find("# TYPE isbalancer_member_elected_total counter\n") != std::string::npos);
  CHECK(text.find("isbalancer_member_elected_total{balancer=\"wso2.identity.domain\","
                  "member=\"https://localhost:9443\",route=\"isNode1\"} 42\n") !=
        std::string::npos);
  CHECK(text.find("isbalancer_member_up{balancer=\"wso2.identity.domain\","
                  "member=\"http://x\\\"/<script>alert(1)</script>\",route=\"<img src=x "
                  "onerror=alert(1)>\"} 0\n") != std::string::npos);
  CHECK(text.find("isbalancer_member_weight{") != std::string::npos);
  CHECK(text.find("isbalancer_balancer_unavailable_total{balancer=\"wso2.identity.domain\"} 3\n") !=
        std::string::npos);
  // Every sample line is "name{labels} value".
  std::size_t samples = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t nl = text.find('\n', at);
    std::string line = text.substr(at, nl - at);
    at = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    ++samples;
    CHECK(line.rfind("isbalancer_", 0) == 0);
    CHECK(line.find("} ") != std::string::npos);
  }
  CHECK(text.find("isbalancer_member_effective_weight{balancer=\"wso2.identity.domain\","
                  "member=\"https://localhost:9443\",route=\"isNode1\"} 1.5\n") !=
        std::string::npos);
  CHECK(text.find("isbalancer_member_ejected{balancer=\"wso2.identity.domain\","
                  "member=\"https://localhost:9443\",route=\"isNode1\"} 0\n") != std::string::npos);
  CHECK(text.find("isbalancer_member_ejected_until_seconds{balancer=\"wso2.identity.domain\","
                  "member=\"http://x\\\"/<script>alert(1)</script>\",route=\"<img src=x "
                  "onerror=alert(1)>\"} 1700000030.000000\n") != std::string::npos);
  CHECK(text.find("isbalancer_member_consecutive_errors{balancer=\"wso2.identity.domain\","
                  "member=\"https://localhost:9443\",route=\"isNode1\",kind=\"gateway\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE isbalancer_balancer_retries_total counter\n"
                  "isbalancer_balancer_retries_total{balancer=\"wso2.identity.domain\"} 7\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE isbalancer_balancer_retries_refused_total counter\n"
                  "isbalancer_balancer_retries_refused_total{balancer=\"wso2.identity.domain\","
                  "reason=\"budget\"} 5\n"
                  "isbalancer_balancer_retries_refused_total{balancer=\"wso2.identity.domain\","
                  "reason=\"body\"} 1\n") != std::string::npos);
  CHECK(text.find("# TYPE isbalancer_balancer_retries_in_flight gauge\n"
                  "isbalancer_balancer_retries_in_flight{balancer=\"wso2.identity.domain\"} 1\n") !=
        std::string::npos);
  // 15 member series, 2 of consecutive errors and a 2-line summary for each of 2
  // members; 5 balancer series for the one balancer, one of them with a line per
  // reason.
  CHECK(samples == (15 + 2 + 2) * 2 + 6);
}

namespace {

// Every href of an <a> element, in document order.
std::vector<std::string> anchors(const std::string& html) {
  std::vector<std::string> out;
  for (std::size_t at = html.find("<a "); at != std::string::npos; at = html.find("<a ", at + 1)) {
    const std::size_t start = html.find("href=\"", at) + 6;
    out.push_back(html.substr(start, html.find('"', start) - start));
  }
  return out;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("html keeps what scripts of stock's page read", "[manager][html]") {
  ManagerSnapshot snap = sample();
  snap.action = "/balancer-manager";
  snap.server_version = "Apache/2.4.71 (Debian)";
  snap.balancers[0].nonce = "0c7f3a2e-1b4d-4f6a-9e2b-5d8c7a6b4e3f";
  snap.balancers[0].members.pop_back();  // the hostile member; its URL is not a link's
  MemberSnapshot second = snap.balancers[0].members[0];
  second.name = "https://127.0.0.1:9444/ctx";
  second.route = "isNode2";
  snap.balancers[0].members.push_back(second);
  const std::string html = render_html(snap);

  // ansible's apache2_mod_proxy: the version, then the balancer's link first and
  // only members' links after it, with w= as stock writes it (':' and '/' raw).
  CHECK(html.find("<dt>Server Version: Apache/2.4.71 (Debian)</dt>") != std::string::npos);
  const std::string nonce = "&amp;nonce=0c7f3a2e-1b4d-4f6a-9e2b-5d8c7a6b4e3f";
  CHECK(anchors(html) ==
        std::vector<std::string>{
            "/balancer-manager?b=wso2.identity.domain" + nonce,
            "/balancer-manager?b=wso2.identity.domain&amp;w=https://localhost:9443" + nonce,
            "/balancer-manager?b=wso2.identity.domain&amp;w=https://127.0.0.1:9444/ctx" + nonce});
  // The member table is the second <table>, its header stock's columns first.
  std::size_t second_table = html.find("<table>", html.find("<table>") + 1);
  const std::string stock_columns =
      "<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th>"
      "<th>Set</th><th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th>"
      "<th>From</th>";
  CHECK(html.substr(second_table, stock_columns.size()) == stock_columns);
  // As many cells in each member row as header cells.
  const std::size_t header_end = html.find("</tr>", second_table);
  const std::size_t headers = count(html.substr(second_table, header_end - second_table), "<th>");
  const std::size_t row = html.find("<tr data-b=", second_table);
  CHECK(count(html.substr(row, html.find("</tr>", row) - row), "<td") == headers);
  // The other views are a GET form and <link>s, not <a>.
  CHECK(html.find("<button name=\"format\" value=\"json\">") != std::string::npos);
  CHECK(html.find("<link rel=\"alternate\" href=\"/balancer-manager?format=json\"") !=
        std::string::npos);
  // Without a selection, every member's form is there.
  CHECK(count(html, "name=\"w_lf\"") == 2);
}

TEST_CASE("a member link selects that member's form alone, labelled", "[manager][html]") {
  ManagerSnapshot snap = sample();
  snap.balancers[0].members.pop_back();
  MemberSnapshot second = snap.balancers[0].members[0];
  second.name = "https://localhost:9444";
  second.route = "isNode2";
  second.settings.lbfactor = 300;
  snap.balancers[0].members.push_back(second);
  snap.selected_balancer = "wso2.identity.domain";
  snap.selected_member = "https://localhost:9444";
  const std::string html = render_html(snap);

  CHECK(count(html, "name=\"w_lf\"") == 1);
  CHECK(count(html, "<input type=\"hidden\" name=\"w\" value=\"https://localhost:9444\">") == 2);
  CHECK(html.find("name=\"w\" value=\"https://localhost:9443\"") == std::string::npos);
  CHECK(html.find("name=\"w_lf\" value=\"3\"") != std::string::npos);
  CHECK(html.find("<h2>Edit member <code>https://localhost:9444</code> (route "
                  "<code>isNode2</code>) of balancer://wso2.identity.domain</h2>") !=
        std::string::npos);
  // The form comes before the tables, and no balancer form is shown.
  CHECK(html.find("name=\"w_lf\"") < html.find("<table>"));
  CHECK(html.find("name=\"b_lbm\"") == std::string::npos);

  snap.selected_member.clear();
  const std::string balancer_page = render_html(snap);
  CHECK(count(balancer_page, "name=\"b_lbm\"") == 1);
  CHECK(balancer_page.find("name=\"w_lf\"") == std::string::npos);
  CHECK(balancer_page.find("<h2>Edit balancer balancer://wso2.identity.domain</h2>") !=
        std::string::npos);
}

TEST_CASE("json decodes names as a browser decodes the page", "[manager][json]") {
  CHECK(json_quote("caf\xc3\xa9") == "\"caf\\u00e9\"");  // UTF-8
  CHECK(json_quote("caf\xe9") == "\"caf\\ufffd\"");      // Latin-1
  CHECK(json_quote("caf\xe9x") == "\"caf\\ufffdx\"");
  CHECK(json_quote("\xf0\x9f\x98\x80") == "\"\\ud83d\\ude00\"");  // above U+FFFF
  CHECK(json_quote("\xe2\x82"
                   "a") == "\"\\ufffda\"");                          // cut short: one U+FFFD
  CHECK(json_quote("\xc0\xaf") == "\"\\ufffd\\ufffd\"");             // overlong
  CHECK(json_quote("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // a surrogate
  CHECK(json_quote("\xe2\x82") == "\"\\ufffd\"");                    // at the end
  CHECK(json_quote("a<b>&\"\\\x01") == "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\u0001\"");
}

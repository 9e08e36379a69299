#include <catch2/catch.hpp>

#include "manager_model.hpp"
#include "status.hpp"

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
  MemberSnapshot m;
  m.name = "https://localhost:9443";
  m.route = "isNode1";
  m.status = kInitialized;
  m.weight = 150;
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
  CHECK(html.find("data-k=\"loadfactor\">1.50</td>") != std::string::npos);  // loadfactor 1.5
  CHECK(html.find("Init Dis Err") != std::string::npos);
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
  CHECK(json.find("\"loadfactor\":1.50,\"lbset\":0,\"busy\":2,\"elected\":42,\"sticky\":40") !=
        std::string::npos);
  CHECK(json.find("\"redirect\":\"a\\\\b\\nc\"") != std::string::npos);
  CHECK(json.find("<") == std::string::npos);
  CHECK(json.find("\"disabled\":true") != std::string::npos);
  CHECK(json.find("\"usable\":false") != std::string::npos);
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
  // 10 member series and a 2-line summary for each of 2 members, 2 balancer series.
  CHECK(samples == (10 + 2) * 2 + 2);
}

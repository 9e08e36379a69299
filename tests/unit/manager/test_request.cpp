// What a balancer-manager request asks for and whether it may
// (core/manager/request.hpp).
#include <catch2/catch.hpp>

#include <vector>

#include "core/manager/request.hpp"

using namespace isb;

TEST_CASE("request: a GET's query selects a view and never edits", "[manager][request]") {
  View v;
  CHECK(!parse_view("", v));
  CHECK(v.format == Format::kHtml);
  CHECK(!parse_view("format=json", v));
  CHECK(v.format == Format::kJson);
  v = {};
  CHECK(!parse_view("xml=1", v));
  CHECK(v.format == Format::kXml);
  v = {};
  CHECK(!parse_view("b=c&w=http%3A%2F%2Fa%3A8080&nonce=x", v));
  CHECK((v.balancer == "c" && v.member == "http://a:8080"));
  v = {};
  CHECK(!parse_view("w=http://a", v));  // w= alone selects nothing, as on stock
  CHECK(v.member.empty());

  v = {};
  auto no = parse_view("format=yaml", v);
  REQUIRE(no);
  CHECK((no->status == 400 && no->field == "format"));
  no = parse_view("b=c&w_lf=2", v);
  REQUIRE(no);
  CHECK((no->status == 400 && no->field == "w_lf"));
  no = parse_view("a=%zz", v);  // malformed
  REQUIRE(no);
  CHECK(no->status == 400);
}

TEST_CASE("request: a selection must exist", "[manager][request]") {
  ManagerSnapshot snap;
  BalancerSnapshot& b = snap.balancers.emplace_back();
  b.name = "balancer://c";
  b.members.emplace_back().name = "http://a:8080";
  CHECK(!check_selection(snap, View{Format::kHtml, "", ""}));
  CHECK(!check_selection(snap, View{Format::kHtml, "c", ""}));
  CHECK(!check_selection(snap, View{Format::kHtml, "c", "http://a:8080"}));
  auto no = check_selection(snap, View{Format::kHtml, "c", "http://b:8080"});
  REQUIRE(no);
  CHECK((no->status == 404 && no->field == "w"));
  no = check_selection(snap, View{Format::kHtml, "d", ""});
  REQUIRE(no);
  CHECK((no->status == 404 && no->field == "b"));
}

TEST_CASE("request: an edit's media type", "[manager][request]") {
  CHECK(body_kind("") == BodyKind::kForm);  // a script's bare POST
  CHECK(body_kind("application/x-www-form-urlencoded") == BodyKind::kForm);
  CHECK(body_kind("Application/X-WWW-Form-Urlencoded; charset=UTF-8") == BodyKind::kForm);
  CHECK(body_kind("application/json ; charset=utf-8") == BodyKind::kJson);
  CHECK(body_kind("multipart/form-data; boundary=x") == BodyKind::kUnsupported);
  CHECK(body_kind("application/jsonx") == BodyKind::kUnsupported);
  CHECK(body_kind("text/plain") == BodyKind::kUnsupported);
}

TEST_CASE("request: a POST to a member's link must agree with its body", "[manager][request]") {
  std::vector<FormField> link;
  CHECK(!parse_link_query("b=c&w=http://a&nonce=n1", link));
  CHECK(link.size() == 3);
  std::vector<FormField> other;
  auto no = parse_link_query("b=c&w_lf=3", other);
  REQUIRE(no);
  CHECK(no->field == "w_lf");

  const std::vector<FormField> body{{"b", "c"}, {"w", "http://a"}, {"nonce", "n1"}, {"w_lf", "3"}};
  CHECK(!check_link_agrees(link, body));
  const std::vector<FormField> elsewhere{{"b", "c"}, {"w", "http://b"}, {"nonce", "n1"}};
  no = check_link_agrees(link, elsewhere);
  REQUIRE(no);
  CHECK((no->status == 400 && no->field == "w"));
  const std::vector<FormField> no_nonce{{"b", "c"}, {"w", "http://a"}};
  CHECK(check_link_agrees(link, no_nonce)->field == "nonce");
}

TEST_CASE("request: the nonce rule", "[manager][request]") {
  EditRequest e;
  e.balancer = "c";
  CHECK(!check_nonce(e, true, "n1"));  // names a balancer, changes nothing: no nonce needed
  e.set(&MemberSettings::lbfactor, 200);
  auto no = check_nonce(e, true, "n1");
  REQUIRE(no);
  CHECK((no->status == 403 && no->field == "nonce"));
  CHECK(no->message.find("missing") != std::string::npos);
  e.has_nonce = true;
  e.nonce = "n2";
  no = check_nonce(e, true, "n1");
  REQUIRE(no);
  CHECK(no->message.find("does not match") != std::string::npos);
  e.nonce = "n1";
  CHECK(!check_nonce(e, true, "n1"));
  // No balancer: no nonce can match.
  EditRequest bare;
  CHECK(check_nonce(bare, false, ""));
  bare.has_nonce = true;
  bare.nonce = "n1";
  CHECK(check_nonce(bare, false, "n1"));
}

TEST_CASE("request: the page's CSP and the edit reply", "[manager][request]") {
  const std::string csp = content_security_policy("abc123");
  CHECK(csp.find("default-src 'none'") == 0);
  CHECK(csp.find("script-src 'nonce-abc123'") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(csp.find("form-action 'self'") != std::string::npos);

  const std::vector<std::string> changes{"member http://a: route \"\" -> n\"1", "lbmethod x -> y"};
  CHECK(edit_reply_json("balancer://c", changes) ==
        "{\"ok\":true,\"balancer\":\"balancer://c\",\"changes\":[\"member http://a: route "
        "\\\"\\\" -\\u003e n\\\"1\",\"lbmethod x -\\u003e y\"]}\n");  // '>' escaped, as everywhere
  CHECK(edit_reply_json("balancer://c", {}) ==
        "{\"ok\":true,\"balancer\":\"balancer://c\",\"changes\":[]}\n");
}

TEST_CASE("request: a Host the virtual host does not answer to is refused, naming it",
          "[manager][request]") {
  const std::vector<std::string> exact{"www.example.com"};
  const HostNames names{exact, {}, "192.0.2.1", {}};
  CHECK(!check_host("www.example.com", names));
  CHECK(!check_host("localhost", names));
  const auto no = check_host("evil.example", names);
  REQUIRE(no);
  CHECK(no->status == 403);
  CHECK(no->field == "Host");
  CHECK(no->message ==
        "this page answers only to its virtual host's ServerName and ServerAlias names, "
        "localhost, the address it listens on, and the hosts of "
        "ISBalancerManagerTrustedOrigin; evil.example is none of them");
}

TEST_CASE("request: what a refusal and a view answer with", "[manager][request]") {
  const Refusal big = edit_too_large();
  CHECK(big.status == 413);
  CHECK(big.field.empty());
  CHECK(big.message == "an edit carries at most 8192 bytes");

  CHECK(content_type(Format::kHtml) == "text/html; charset=utf-8");
  CHECK(content_type(Format::kJson) == "application/json");
  CHECK(content_type(Format::kPrometheus) == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(content_type(Format::kXml) == "text/xml; charset=utf-8");

  const Refusal bad{400, "w_lf", "loadfactor must be <1>"};
  CHECK(refusal_body(bad, true, "/bm") ==
        "{\"error\":{\"status\":400,\"field\":\"w_lf\",\"message\":\"loadfactor must be "
        "\\u003c1\\u003e\"}}\n");  // < and > escaped, as every JSON answer has them
  CHECK(refusal_body(bad, false, "/bm?\"x") ==
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>400</title>"
        "</head><body><h1>Not changed</h1><p><code>w_lf</code>: loadfactor must be &lt;1&gt;"
        "</p><p><a href=\"/bm?&quot;x\">Back to the balancer manager</a></p></body></html>\n");
  const Refusal unsaved{500, "", "not saved", true};
  const std::string page = refusal_body(unsaved, false, "/bm");
  CHECK(page.find("<h1>Applied, not saved</h1><p>not saved</p>") != std::string::npos);

  const std::vector<std::string> changes{"lbmethod byrequests -> bylatency",
                                         "member http://a: loadfactor 1 -> 2"};
  CHECK(changes_text(changes) ==
        "lbmethod byrequests -> bylatency; member http://a: loadfactor 1 -> 2");
  CHECK(changes_text({}).empty());
}

#include <array>
#include <catch2/catch.hpp>

#include "core/manager/manager_edit.hpp"
#include "core/manager/manager_model.hpp"

using namespace isb;

namespace {

constexpr std::array<std::string_view, 3> kMethods = {"byrequests", "bybusyness", "bytraffic"};

std::optional<EditRequest> edit_of(std::string_view form, EditError& err, bool hc = false) {
  auto fields = parse_form(form, err);
  if (!fields) return std::nullopt;
  return parse_edit(*fields, EditRules{kMethods, hc}, err);
}

std::string refused_field(std::string_view form, bool hc = false) {
  EditError err;
  auto e = edit_of(form, err, hc);
  return e ? "<accepted>" : err.field;
}

}  // namespace

TEST_CASE("forms decode percent-escapes and plus, and refuse bad ones", "[manager][edit]") {
  EditError err;
  auto f = parse_form("b=wso2&w=https%3A%2F%2Fa%3A9443&w_wr=is+Node&&nonce=", err);
  REQUIRE(f);
  REQUIRE(f->size() == 4);
  CHECK((*f)[1] == FormField{"w", "https://a:9443"});
  CHECK((*f)[2] == FormField{"w_wr", "is Node"});
  CHECK((*f)[3] == FormField{"nonce", ""});
  CHECK_FALSE(parse_form("w=%4", err));
  CHECK(err.field == "w");
  CHECK_FALSE(parse_form("w=%zz", err));
  CHECK_FALSE(parse_form("w=a%00b", err));  // control bytes never reach a field
  CHECK_FALSE(parse_form("=x", err));
  CHECK_FALSE(parse_form(std::string(kMaxEditBytes + 1, 'a'), err));
  std::string many;
  for (std::size_t i = 0; i <= kMaxEditFields; ++i) many += "a=1&";
  CHECK_FALSE(parse_form(many, err));
}

TEST_CASE("encode_form and parse_form round-trip", "[manager][edit]") {
  std::vector<FormField> in = {{"b", "x y"}, {"w", "http://h:1/p?q=1&r"}, {"w_wr", "~a.b:c"}};
  EditError err;
  auto out = parse_form(encode_form(in), err);
  REQUIRE(out);
  CHECK(*out == in);
}

TEST_CASE("stock's form fields are validated and applied", "[manager][edit]") {
  EditError err;
  auto e = edit_of(
      "b=balancer%3A%2F%2Fwso2&w=https://a:9443&nonce=n&w_lf=2.5&w_ls=1&w_wr=isNode1&w_rr="
      "&w_status_D=1&w_status_N=0&xml=1",
      err);
  REQUIRE(e);
  CHECK(e->balancer == "wso2");
  CHECK(e->member == "https://a:9443");
  CHECK(e->has_nonce);
  CHECK(e->value(&MemberSettings::lbfactor) == 250);
  CHECK(e->value(&MemberSettings::lbset) == 1);
  CHECK(e->value(&MemberSettings::route) == "isNode1");
  CHECK(e->value(&MemberSettings::redirect) == "");
  CHECK(e->status_set == kDisabled);
  CHECK(e->status_clear == kDrain);
  MemberSettings before;
  before.status = kDrain;
  MemberSettings after = e->applied(before);
  CHECK(after.lbfactor == 250);
  CHECK(after.status == kDisabled);
  auto changes = diff(before, after, false);
  REQUIRE(changes.size() == 4);
  CHECK(changes[0].field == "loadfactor");
  CHECK(changes[0].before == "1");
  CHECK(changes[0].after == "2.5");
  CHECK(changes[3].field == "status");
  CHECK(changes[3].before == "N");
  CHECK(changes[3].after == "D");
}

TEST_CASE("every bad value is refused naming its field", "[manager][edit]") {
  CHECK(refused_field("b=c&w=http://a&w_lf=0") == "w_lf");
  CHECK(refused_field("b=c&w=http://a&w_lf=100.01") == "w_lf");
  CHECK(refused_field("b=c&w=http://a&w_lf=1e2") == "w_lf");
  CHECK(refused_field("b=c&w=http://a&w_lf=-1") == "w_lf");
  CHECK(refused_field("b=c&w=http://a&w_ls=100") == "w_ls");
  CHECK(refused_field("b=c&w=http://a&w_wr=%3Cscript%3E") == "w_wr");
  CHECK(refused_field("b=c&w=http://a&w_wr=" + std::string(64, 'a')) == "w_wr");
  CHECK(refused_field("b=c&w=http://a&w_rr=a%20b") == "w_rr");
  CHECK(refused_field("b=c&w=http://a&w_status_D=2") == "w_status_D");
  CHECK(refused_field("b=c&w=http://a&w_status_E=1") == "w_status_E");
  CHECK(refused_field("b=c&w=http://a&w_status_C=1") == "w_status_C");  // no hcheck
  CHECK(refused_field("b=c&w=http://a&w_hi=1000") == "w_hi");           // no hcheck
  CHECK(refused_field("b=c&b_lbm=heartbeat") == "b_lbm");
  CHECK(refused_field("b=c&b_tmo=7201") == "b_tmo");
  CHECK(refused_field("b=c&b_max=100") == "b_max");
  CHECK(refused_field("b=c&b_sforce=yes") == "b_sforce");
  CHECK(refused_field("b=c&b_ss=a;b") == "b_ss");
  CHECK(refused_field("b=c&b_ss=%7Cjsessionid") == "b_ss");  // no cookie: stickiness off
  CHECK(refused_field("b=c&b_nwrkr=javascript:alert(1)&b_wyes=1") == "b_nwrkr");
  CHECK(refused_field("b=c&b_nwrkr=http://a%22b&b_wyes=1") == "b_nwrkr");
  CHECK(refused_field("b=c&b_nwrkr=http://h:99999&b_wyes=1") == "b_nwrkr");
  CHECK(refused_field("b=c&b_nwrkr=http://user@h&b_wyes=1") == "b_nwrkr");
  CHECK(refused_field("b=c&b_nwrkr=http://h:8080") == "b_wyes");
  CHECK(refused_field("b=c&w=http://a&w_remove=1&w_lf=2") == "w_remove");
  CHECK(refused_field("b=c&w_lf=2") == "w");
  CHECK(refused_field("w=http://a&w_lf=2") == "b");
  CHECK(refused_field("b=c&b=d") == "b");
  CHECK(refused_field("b=c&evil=1") == "evil");
  CHECK(refused_field("b=a/b") == "b");
  CHECK(refused_field("b=c&nonce=" + std::string(65, 'n')) == "nonce");
}

TEST_CASE("what the stock form sends unchanged is not an edit", "[manager][edit]") {
  EditError err;
  auto e = edit_of("b=c&nonce=n&b_ss=&b_nwrkr=&b_wyes=0", err);
  REQUIRE(e);
  CHECK_FALSE(e->edits_anything());
  e = edit_of("b=c&b_ss=-", err);
  REQUIRE(e);
  CHECK(e->value(&BalancerSettings::sticky) == "");
  e = edit_of("b=c&b_ss=JSESSIONID%7Cjsessionid", err);
  REQUIRE(e);
  CHECK(sticky_cookie(*e->value(&BalancerSettings::sticky)) == "JSESSIONID");
  CHECK(sticky_path(*e->value(&BalancerSettings::sticky)) == "jsessionid");
  e = edit_of("b=c&b_nwrkr=https://%5B::1%5D:9443/app&b_wyes=1", err);
  REQUIRE(e);
  CHECK(e->add_member == "https://[::1]:9443/app");
}

TEST_CASE("health-check fields need mod_proxy_hcheck and are validated", "[manager][edit]") {
  EditError err;
  auto e =
      edit_of("b=c&w=http://a&w_hi=5000&w_hp=2&w_hf=3&w_hm=GET&w_hu=/health&w_he=ok", err, true);
  REQUIRE(e);
  CHECK(e->value(&MemberSettings::hc_interval_ms) == 5000);
  CHECK(e->value(&MemberSettings::hc_method) == "GET");
  CHECK(refused_field("b=c&w=http://a&w_hi=50", true) == "w_hi");
  CHECK(refused_field("b=c&w=http://a&w_hu=/a%20b", true) == "w_hu");
}

TEST_CASE("the JSON edit API maps onto the form fields", "[manager][edit][json]") {
  EditError err;
  auto f = parse_json_edit(
      R"({"nonce":"n","balancer":"wso2","member":"https://a:9443",
          "set":{"loadfactor":2.5,"disabled":true,"route":"is\u004eode1","lbmethod":"bybusyness"}})",
      err);
  REQUIRE(f);
  auto e = parse_edit(*f, EditRules{kMethods, false}, err);
  REQUIRE(e);
  CHECK(e->value(&MemberSettings::lbfactor) == 250);
  CHECK(e->status_set == kDisabled);
  CHECK(e->value(&MemberSettings::route) == "isNode1");
  CHECK(e->value(&BalancerSettings::lbmethod) == "bybusyness");
  f = parse_json_edit(R"({"balancer":"b","add":"http://h:1","nonce":"n"})", err);
  REQUIRE(f);
  e = parse_edit(*f, EditRules{kMethods, false}, err);
  REQUIRE(e);
  CHECK(e->add_member == "http://h:1");
  f = parse_json_edit(R"({"balancer":"b","member":"http://h:1","remove":true})", err);
  REQUIRE(f);
  CHECK(parse_edit(*f, EditRules{kMethods, false}, err)->remove);

  CHECK_FALSE(parse_json_edit(R"({"set":{"bogus":1}})", err));
  CHECK(err.field == "set.bogus");
  CHECK_FALSE(parse_json_edit(R"({"balancer":"a","balancer":"b"})", err));
  CHECK_FALSE(parse_json_edit(R"({"set":{"loadfactor":3},"set":{"lbset":2}})", err));
  CHECK(err.field == "set");
  CHECK_FALSE(parse_json_edit(R"({"balancer":null})", err));
  CHECK_FALSE(parse_json_edit(R"({"balancer":["a"]})", err));
  CHECK_FALSE(parse_json_edit(R"({"balancer":"a\n"})", err));
  CHECK_FALSE(parse_json_edit(R"({"balancer":"\ud800"})", err));
  CHECK_FALSE(parse_json_edit(R"({"set":{"loadfactor":1e3}})", err));
  CHECK_FALSE(parse_json_edit(R"({"balancer":"a"} x)", err));
  CHECK_FALSE(parse_json_edit(R"({"balancer":"a")", err));
  CHECK_FALSE(parse_json_edit("[]", err));
  CHECK_FALSE(parse_json_edit(R"({"remove":"yes"})", err));
  // true and false are values of flags and switches only.
  CHECK_FALSE(parse_json_edit(R"({"set":{"slowstart":true}})", err));
  CHECK(err.field == "set.slowstart");
  CHECK_FALSE(parse_json_edit(R"({"set":{"loadfactor":false}})", err));
  CHECK(parse_json_edit(R"({"set":{"nofailover":true,"drain":false}})", err));
}

TEST_CASE("edit_fields turns one setting into another through parse_edit",
          "[manager][edit][persist]") {
  MemberSettings from;
  from.route = "n1";
  MemberSettings to = from;
  to.lbfactor = 333;
  to.lbset = 2;
  to.route = "";
  to.redirect = "n2";
  to.status = kDisabled | kHotStandby;
  std::vector<FormField> fields = {{"b", "c"}, {"w", "http://a"}};
  for (auto& f : edit_fields(from, to, false)) fields.push_back(f);
  EditError err;
  auto e = parse_edit(fields, EditRules{kMethods, false}, err);
  REQUIRE(e);
  CHECK(e->applied(from) == to);
  CHECK(edit_fields(to, to, false).empty());

  BalancerSettings bf{"byrequests", 0, 1, false, "JSESSIONID|jsessionid"};
  BalancerSettings bt{"bybusyness", 30, 2, true, ""};
  std::vector<FormField> bfields = {{"b", "c"}};
  for (auto& f : edit_fields(bf, bt)) bfields.push_back(f);
  e = parse_edit(bfields, EditRules{kMethods, false}, err);
  REQUIRE(e);
  CHECK(e->applied(bf) == bt);
}

TEST_CASE("nonces compare exactly", "[manager][edit]") {
  CHECK(nonce_equal("0f3c-11", "0f3c-11"));
  CHECK_FALSE(nonce_equal("0f3c-11", "0f3c-12"));
  CHECK_FALSE(nonce_equal("0f3c-11", "0f3c-1"));
  CHECK_FALSE(nonce_equal("0f3c-11", "0f3c-111"));
  CHECK_FALSE(nonce_equal("0f3c-11", ""));
  CHECK_FALSE(nonce_equal("", ""));  // a balancer without a nonce takes no edits
}

TEST_CASE("the page has a form per member and escapes what it echoes", "[manager][html]") {
  ManagerSnapshot s;
  s.server = "front";
  s.action = "/balancer-manager\"><script>";
  s.script_nonce = "abc";
  s.lbmethods = {"byrequests", "bybusyness"};
  BalancerSnapshot b;
  b.name = "balancer://c";
  b.lbmethod = "byrequests";
  b.nonce = "n\"<1>";
  MemberSnapshot m;
  m.name = "http://a:1";
  m.settings.route = "r\"><img>";
  m.differs = {{"loadfactor", "1", "2"}, {"route", "", "x"}};
  b.members.push_back(m);
  s.balancers.push_back(b);
  s.notice = "Applied: <b>";
  std::string html = render_html(s);
  CHECK(html.find("<script nonce=\"abc\">") != std::string::npos);
  CHECK(html.find("action=\"/balancer-manager&quot;&gt;&lt;script&gt;\"") != std::string::npos);
  CHECK(html.find("name=\"nonce\" value=\"n&quot;&lt;1&gt;\"") != std::string::npos);
  CHECK(html.find("value=\"r&quot;&gt;&lt;img&gt;\"") != std::string::npos);
  CHECK(html.find("name=\"w_status_D\"") != std::string::npos);
  CHECK(html.find("name=\"w_status_C\"") == std::string::npos);  // no hcheck
  CHECK(html.find("name=\"b_nwrkr\"") != std::string::npos);
  CHECK(html.find("name=\"w_remove\"") != std::string::npos);
  CHECK(html.find("loadfactor: 1 &rarr; 2") != std::string::npos);
  CHECK(html.find("route: (none) &rarr; x") != std::string::npos);
  CHECK(html.find("Applied: &lt;b&gt;") != std::string::npos);
  std::string xml = render_xml(s);
  CHECK(xml.find("<httpd:nonce>n&quot;&lt;1&gt;</httpd:nonce>") != std::string::npos);
}

TEST_CASE("member_key: one member, however it is spelled", "[manager][edit]") {
  CHECK(member_key("HTTP://Host.Example:80/") == "http://host.example");
  CHECK(member_key("http://127.0.0.1:80") == "http://127.0.0.1");
  CHECK(member_key("https://a:443") == "https://a");
  CHECK(member_key("https://a:80") == "https://a:80");
  CHECK(member_key("ajp://a:8009/") == "ajp://a");
  CHECK(member_key("wss://[::1]:443") == "wss://[::1]");
  CHECK(member_key("uwsgi://a:3031") == "uwsgi://a:3031");  // no default mod_proxy knows
  CHECK(member_key("http://a:18101/App") == "http://a:18101/App");
  CHECK(member_key("http://a:18101/App") != member_key("http://a:18101/app"));
  CHECK(member_key("http://a:18101/ctx/") == "http://a:18101/ctx/");
  CHECK(member_key("http://a:8080") == member_key("http://A:8080/"));
  CHECK(member_key("not a url") == "not a url");
  CHECK(member_key("http://127.0.0.1:08080") == member_key("http://127.0.0.1:8080"));
  CHECK(member_key("http://h.example.:8080") == member_key("http://h.example:8080"));
  CHECK(member_key("http://[0:0::1]:8080") == member_key("http://[::1]:8080"));
  CHECK(member_key("http://a:1/%41pp") == member_key("http://a:1/App"));
  CHECK(member_key("http://a:1/a%2Fb") != member_key("http://a:1/a/b"));  // '/' is reserved
}

// Our own directives' key=value words (core/config/own_settings.hpp).
#include <array>
#include <catch2/catch.hpp>
#include <vector>

#include "core/config/own_settings.hpp"

using namespace isb;

namespace {

std::optional<std::string> parse(SettingScope scope, std::vector<std::string_view> words,
                                 OwnSettings& out) {
  return parse_own_settings(
      scope == SettingScope::kBalancer ? "ISBalancerSet" : "ISBalancerMemberSet", scope, words,
      out);
}

}  // namespace

TEST_CASE("own settings: our keys are read into the schema's settings", "[config][directives]") {
  OwnSettings s;
  REQUIRE(!parse(SettingScope::kBalancer, {"slowstart=30"}, s));
  CHECK(s.member.slowstart_s == 30);
  MemberSettings m;
  m.route = "n1";
  const MemberSettings after = s.applied(m);
  CHECK(after.slowstart_s == 30);
  CHECK(after.route == "n1");  // only what was given
  OwnSettings none;
  CHECK(none.applied(m) == m);
  const std::string members =
      "slowstart, slowstartatstart, eject5xx, ejectgateway, ejectfailpercent, "
      "ejectminrequests, ejecttime, ejectmaxtime, ejectsessions";
  CHECK(own_setting_names(SettingScope::kMember) == members);
  CHECK(own_setting_names(SettingScope::kBalancer) ==
        members + ", ejectpercent, retrybudget, retryfloor");
  // An unknown key is answered with every key the directive takes.
  OwnSettings u;
  CHECK(parse(SettingScope::kBalancer, {"RetryBudget=50"}, u) ==
        "ISBalancerSet: unknown setting 'RetryBudget'; it takes " + members +
            ", ejectpercent, retrybudget, retryfloor");
}

TEST_CASE("own settings: a balancer's own settings go to the balancer, a member's to members",
          "[config][directives]") {
  OwnSettings s;
  REQUIRE(!parse(SettingScope::kBalancer,
                 {"ejectpercent=50", "retrybudget=25", "eject5xx=5", "ejectsessions=1"}, s));
  CHECK(s.balancer.eject_percent == 50);
  CHECK(s.balancer.retry_budget_percent == 25);
  CHECK(s.member.eject_5xx == 5);
  CHECK(s.member.eject_sessions);
  const BalancerSettings b = s.applied(BalancerSettings{});
  CHECK(b.eject_percent == 50);
  CHECK(b.retry_budget_floor == 3);  // not given: the default stays
  CHECK(parse(SettingScope::kMember, {"ejectpercent=50"}, s) ==
        "ISBalancerMemberSet: ejectpercent is a balancer's setting; give it to ISBalancerSet");
  OwnSettings fresh;
  CHECK(parse(SettingScope::kBalancer, {"ejectpercent=101"}, fresh) ==
        "ISBalancerSet: 'ejectpercent=101': ejectpercent must be a percentage from 0 to 100");
  CHECK(parse(SettingScope::kBalancer, {"ejecttime=0"}, fresh) ==
        "ISBalancerSet: 'ejecttime=0': ejecttime must be seconds from 1 to 3600");
}

TEST_CASE("own settings: each bad word names the directive, the word and the fix",
          "[config][directives]") {
  OwnSettings s;
  CHECK(parse(SettingScope::kMember, {"slowstart=abc"}, s) ==
        "ISBalancerMemberSet: 'slowstart=abc': slowstart must be seconds from 0 to 3600");
  CHECK(parse(SettingScope::kMember, {"slowstart=3601"}, s).has_value());
  CHECK(s.member_fields == 0);  // nothing taken from a refused line
  CHECK(parse(SettingScope::kBalancer, {"loadfactor=2"}, s) ==
        "ISBalancerSet: loadfactor is mod_proxy's; set it on the BalancerMember line (a "
        "member's) or with ProxySet (a balancer's), where mod_proxy reads it");
  CHECK(parse(SettingScope::kMember, {"lbmethod=bylatency"}, s)->find("ProxySet") !=
        std::string::npos);
  CHECK(parse(SettingScope::kMember, {"slowstart"}, s) ==
        "ISBalancerMemberSet: 'slowstart' is not key=value; it takes " +
            own_setting_names(SettingScope::kMember));
  CHECK(parse(SettingScope::kMember, {"slow=1"}, s) ==
        "ISBalancerMemberSet: unknown setting 'slow'; it takes " +
            own_setting_names(SettingScope::kMember));
  CHECK(parse(SettingScope::kMember, {"slowstart=1", "slowstart=2"}, s) ==
        "ISBalancerMemberSet: slowstart is given twice");
  CHECK(parse(SettingScope::kBalancer, {}, s)->find("at least one") != std::string::npos);
}

namespace {

// Two servers, as the lines and balancers point at them.
const int kHost = 0;
const int kOtherHost = 0;

// One balancer of three members (the last slot a growth slot) in kHost.
struct Fixture {
  std::vector<std::optional<MemberSettings>> configured{MemberSettings{}, MemberSettings{},
                                                        std::nullopt};
  std::vector<std::string> urls{"http://a:8080", "HTTP://B:80/", ""};
  OwnSettings defaults;
  std::vector<ConfiguredBalancer> balancers{{"balancer://c", &kHost, configured, urls, &defaults}};

  OwnSettings settings(std::vector<std::string_view> words) {
    OwnSettings s;
    REQUIRE(!parse_own_settings("ISBalancerSet", SettingScope::kBalancer, words, s));
    return s;
  }
};

}  // namespace

TEST_CASE("own settings: a balancer's lines, then its members', whatever their order",
          "[config][directives]") {
  Fixture f;
  const OwnSettings thirty = f.settings({"slowstart=30"});
  const OwnSettings ninety = f.settings({"slowstart=90"});
  const std::vector<OwnSettingsLine> lines{
      {"balancer://c", "http://b", &ninety, "conf:3", &kHost},  // b spelled otherwise
      {"BALANCER://C/", "", &thirty, "conf:2", &kHost},         // as <Proxy "balancer://C/">
  };
  REQUIRE(!apply_own_lines(lines, f.balancers));
  CHECK(f.configured[0]->slowstart_s == 30);
  CHECK(f.configured[1]->slowstart_s == 90);
  CHECK(!f.configured[2]);                     // a growth slot has no configured value ...
  CHECK(f.defaults.member.slowstart_s == 30);  // ... a member added there gets the default
  CHECK(f.defaults.member_fields != 0);
  CHECK(f.defaults.balancer_fields == 0);
  CHECK(own_lines_text(lines) ==
        "balancer://c\nhttp://b\nw_slow=90\n\nBALANCER://C/\n\nw_slow=30\n\n");
  CHECK(own_lines_text({}).empty());
  // A balancer's own setting goes to its defaults, and into the fingerprint.
  Fixture g;
  const OwnSettings budget = g.settings({"retrybudget=50"});
  const std::vector<OwnSettingsLine> one{{"balancer://c", "", &budget, "conf:2", &kHost}};
  REQUIRE(!apply_own_lines(one, g.balancers));
  CHECK(g.defaults.applied(BalancerSettings{}).retry_budget_percent == 50);
  CHECK(own_lines_text(one) == "balancer://c\n\nb_rbud=50\n\n");
}

TEST_CASE("own settings: a line that names nothing, or a setting given twice, is refused",
          "[config][directives]") {
  Fixture f;
  const OwnSettings five = f.settings({"slowstart=5"});
  auto refused = [&](std::vector<OwnSettingsLine> lines) {
    Fixture g;
    return apply_own_lines(lines, g.balancers).value_or("<accepted>");
  };
  CHECK(refused({{"balancer://c", "http://a:8081", &five, "conf:9", &kHost}}) ==
        "conf:9: ISBalancerMemberSet names http://a:8081, which is not a BalancerMember of "
        "balancer://c; write the member's URL as its BalancerMember line has it");
  CHECK(refused({{"balancer://d", "", &five, "conf:9", &kHost}}) ==
        "conf:9: ISBalancerSet names balancer://d, which no <Proxy> section or ProxyPass of "
        "this server or virtual host defines with BalancerMember lines; write the line where "
        "the balancer is defined");
  // The balancer of the same name in another virtual host is not this one.
  CHECK(refused({{"balancer://c", "", &five, "conf:9", &kOtherHost}}).find("conf:9") == 0);
  CHECK(refused({{"balancer://c", "", &five, "conf:2", &kHost},
                 {"balancer://c", "", &five, "conf:7", &kHost}}) ==
        "conf:7: slowstart of balancer://c is given already, at conf:2; give it once");
  const OwnSettings half = f.settings({"ejectpercent=50"});
  CHECK(refused({{"balancer://c", "", &half, "conf:2", &kHost},
                 {"balancer://c", "", &half, "conf:5", &kHost}}) ==
        "conf:5: ejectpercent of balancer://c is given already, at conf:2; give it once");
  CHECK(refused({{"balancer://c", "http://a:8080", &five, "conf:2", &kHost},
                 {"balancer://c", "http://a:8080/", &five, "conf:4", &kHost}}) ==
        "conf:4: slowstart of http://a:8080 is given already, at conf:2; give it once");
  // A member's own line over the balancer's default is what the lines are for.
  CHECK(refused({{"balancer://c", "", &five, "conf:2", &kHost},
                 {"balancer://c", "http://a:8080", &five, "conf:4", &kHost}}) == "<accepted>");
}

namespace {

// Reads one line as httpd hands over its words; `section` as cmd->path.
std::optional<std::string> line(SettingScope scope, std::optional<std::string_view> section,
                                std::vector<std::string_view> words, OwnLine& out) {
  return parse_own_line(scope == SettingScope::kBalancer ? "ISBalancerSet" : "ISBalancerMemberSet",
                        scope, section, words, out);
}

}  // namespace

TEST_CASE("own settings: a line's balancer comes from its <Proxy> section or its first word",
          "[config][directives]") {
  OwnLine in_section;
  REQUIRE(!line(SettingScope::kBalancer, "balancer://c", {"slowstart=30"}, in_section));
  CHECK(in_section.balancer == "balancer://c");
  CHECK(in_section.member.empty());
  CHECK(in_section.settings.member.slowstart_s == 30);

  OwnLine outside;
  REQUIRE(!line(SettingScope::kMember, std::nullopt,
                {"BALANCER://C", "https://node1:9443", "slowstart=60"}, outside));
  CHECK(outside.balancer == "BALANCER://C");
  CHECK(outside.member == "https://node1:9443");
  CHECK(outside.settings.member.slowstart_s == 60);

  // In a section, a first word that looks like a balancer is the member (or a setting).
  OwnLine member;
  REQUIRE(!line(SettingScope::kMember, "balancer://c", {"http://a", "slowstart=1"}, member));
  CHECK(member.balancer == "balancer://c");
  CHECK(member.member == "http://a");
  CHECK(is_balancer_word("Balancer://x"));
  CHECK(!is_balancer_word("balancer://"));
  CHECK(!is_balancer_word("http://x"));
}

TEST_CASE("own settings: a line in the wrong place or without its names is refused",
          "[config][directives]") {
  OwnLine out;
  CHECK(line(SettingScope::kBalancer, "/app", {"slowstart=3"}, out) ==
        "ISBalancerSet belongs in a <Proxy balancer://...> section or at server or virtual-host "
        "level, not in </app>");
  CHECK(line(SettingScope::kBalancer, "balancer://", {"slowstart=3"}, out).has_value());
  CHECK(line(SettingScope::kBalancer, std::nullopt, {"slowstart=3"}, out) ==
        "ISBalancerSet outside <Proxy balancer://...> names its balancer first: ISBalancerSet "
        "balancer://NAME key=value");
  CHECK(line(SettingScope::kMember, std::nullopt, {}, out) ==
        "ISBalancerMemberSet outside <Proxy balancer://...> names its balancer first: "
        "ISBalancerMemberSet balancer://NAME MEMBER-URL key=value");
  const std::string no_member =
      "ISBalancerMemberSet: give the member's URL as its BalancerMember line has it, then "
      "key=value, e.g. ISBalancerMemberSet https://node1:9443 slowstart=60";
  CHECK(line(SettingScope::kMember, "balancer://c", {"slowstart=3"}, out) == no_member);
  CHECK(line(SettingScope::kMember, std::nullopt, {"balancer://c"}, out) == no_member);
  // Then the key=value words, as parse_own_settings reads them.
  CHECK(line(SettingScope::kBalancer, std::nullopt, {"balancer://c"}, out)->find("at least one") !=
        std::string::npos);
  CHECK(line(SettingScope::kMember, "balancer://c", {"http://a", "slow=1"}, out) ==
        "ISBalancerMemberSet: unknown setting 'slow'; it takes " +
            own_setting_names(SettingScope::kMember));
}

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
  CHECK(own_setting_names(SettingScope::kMember) == "slowstart");
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
        "ISBalancerMemberSet: 'slowstart' is not key=value; it takes slowstart");
  CHECK(parse(SettingScope::kMember, {"slow=1"}, s) ==
        "ISBalancerMemberSet: unknown setting 'slow'; it takes slowstart");
  CHECK(parse(SettingScope::kMember, {"slowstart=1", "slowstart=2"}, s) ==
        "ISBalancerMemberSet: slowstart is given twice");
  CHECK(parse(SettingScope::kBalancer, {}, s)->find("at least one") != std::string::npos);
}

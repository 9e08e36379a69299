// The settings schema (core/config/schema.hpp): each entry's reading, writing,
// range and message, and the tables' own consistency.
#include <array>
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "core/config/schema.hpp"
#include "core/manager/apply.hpp"
#include "core/manager/manager_edit.hpp"

using namespace isb;

namespace {

constexpr std::array<std::string_view, 2> kMethods = {"byrequests", "bylatency"};
const NameLists kNames{kMethods, {}};

template <class S>
bool reads(const Field<S>& f, std::string_view text, S& into) {
  return parse_value(f, text, into, kNames);
}

}  // namespace

TEST_CASE("schema: each table names every field once, in every vocabulary", "[config][schema]") {
  std::set<std::string_view> names;
  std::set<std::string_view> forms;
  auto check = [&](const auto& table) {
    for (const auto& f : table) {
      CAPTURE(f.name);
      CHECK(names.insert(f.name).second);
      CHECK(forms.insert(f.form).second);
      CHECK(!f.label.empty());
      // Exactly the value pointer its kind reads.
      const int pointers =
          (f.number != nullptr) + (f.text != nullptr) + (f.on != nullptr) + (f.bits != nullptr);
      CHECK(pointers == 1);
      // Its `set` key leads to its form field (the status has one key per flag).
      if (f.kind != FieldKind::kStatus) CHECK(set_key_form(f.name) == std::string(f.form));
    }
  };
  check(kMemberFields);
  check(kBalancerFields);
  // The request's own fields are not settings.
  for (std::string_view own : {"b", "w", "nonce", "xml", "w_remove", "b_nwrkr", "b_wyes"}) {
    CHECK(forms.count(own) == 0);
  }
  // Every operator flag is a `set` key, and no other flag is.
  for (const StatusFlag& flag : kStatusFlags) {
    CAPTURE(flag.json_name);
    const auto form = set_key_form(flag.json_name);
    CHECK(form.has_value() == ((flag.bit & kAdminBits) != 0));
    if (form) CHECK(*form == std::string("w_status_") + flag.letter);
  }
  CHECK(!set_key_form("bogus"));
  CHECK(!set_key_form("initialized"));
}

TEST_CASE("schema: numbers are read within their range and written back", "[config][schema]") {
  const MemberField& lf = *member_field_by_form("w_lf");
  const MemberField& lbset = *member_field_by_form("w_ls");
  MemberSettings s;
  CHECK(reads(lf, "2.5", s));
  CHECK(s.lbfactor == 250);
  CHECK(form_value(lf, s) == "2.5");
  CHECK(reads(lf, "100", s));
  CHECK(s.lbfactor == 10000);
  CHECK(reads(lf, "1.05", s));
  CHECK(s.lbfactor == 105);
  CHECK(form_value(lf, s) == "1.05");
  for (std::string_view bad : {"0.99", "100.01", "1.", ".5", "1.005", "-1", "1e2", "", " 1"}) {
    CAPTURE(bad);
    CHECK_FALSE(reads(lf, bad, s));
  }
  CHECK(s.lbfactor == 105);  // a refused text changes nothing
  CHECK(accepts(lf, kNames) == "a load factor from 1 to 100 (two decimals)");

  CHECK(reads(lbset, "0", s));
  CHECK(reads(lbset, "99", s));
  CHECK(s.lbset == 99);
  CHECK_FALSE(reads(lbset, "100", s));
  CHECK_FALSE(reads(lbset, "+1", s));
  CHECK(accepts(lbset, kNames) == "an lbset from 0 to 99");
  const BalancerField& tmo = *balancer_field_by_form("b_tmo");
  CHECK(accepts(tmo, kNames) == "seconds from 0 to 7200");
}

TEST_CASE("schema: text is read within its length and characters", "[config][schema]") {
  const MemberField& route = *member_field_by_form("w_wr");
  const MemberField& method = *member_field_by_form("w_hm");
  MemberSettings s;
  CHECK(reads(route, "isNode1.a~b:c_d-e", s));
  CHECK(reads(route, std::string(kMaxRouteChars, 'r'), s));
  CHECK_FALSE(reads(route, std::string(kMaxRouteChars + 1, 'r'), s));
  CHECK_FALSE(reads(route, "a b", s));
  CHECK_FALSE(reads(route, "<script>", s));
  CHECK(reads(route, "", s));  // no route
  CHECK(accepts(route, kNames) == "at most 63 characters of letters, digits and - _ . ~ :");
  CHECK_FALSE(reads(method, "", s));  // a method has a name
  CHECK(reads(method, "GET", s));
  CHECK(accepts(method, kNames) == "1 to 15 characters of letters, digits and _ -");
}

TEST_CASE("schema: switches, choices and the sticky names", "[config][schema]") {
  const BalancerField& nofailover = *balancer_field_by_form("b_sforce");
  const BalancerField& lbm = *balancer_field_by_form("b_lbm");
  const BalancerField& ss = *balancer_field_by_form("b_ss");
  BalancerSettings b;
  CHECK(reads(nofailover, "1", b));
  CHECK(b.sticky_force);
  CHECK(form_value(nofailover, b) == "1");
  CHECK(shown_value(nofailover, b) == "On");
  CHECK_FALSE(reads(nofailover, "yes", b));
  CHECK(reads(lbm, "bylatency", b));
  CHECK_FALSE(reads(lbm, "heartbeat", b));
  CHECK(accepts(lbm, kNames) == "one of byrequests, bylatency");

  CHECK(reads(ss, "JSESSIONID|jsessionid", b));
  CHECK(b.sticky == "JSESSIONID|jsessionid");
  CHECK(sticky_cookie(b.sticky) == "JSESSIONID");
  CHECK(sticky_path(b.sticky) == "jsessionid");
  CHECK(reads(ss, "ROUTEID|ROUTEID", b));
  CHECK(b.sticky == "ROUTEID");  // one name for both is written once
  CHECK(sticky_path(b.sticky) == "ROUTEID");
  CHECK(reads(ss, "-", b));
  CHECK(b.sticky.empty());
  CHECK(form_value(ss, b) == "-");  // what clears it again
  CHECK(shown_value(ss, b).empty());
  CHECK_FALSE(reads(ss, "|jsessionid", b));  // no cookie
  CHECK_FALSE(reads(ss, "-|-", b));          // would read back as "-", which means none
  CHECK_FALSE(reads(ss, "A|-", b));
  CHECK_FALSE(reads(ss, "A|", b));  // a '|' is followed by a path name
  CHECK(reads(ss, "--", b));        // a name, not the word for none
  CHECK_FALSE(reads(ss, "a;b", b));
  CHECK(ss.has(kEmptyKeepsIt));
}

TEST_CASE("schema: every field reads back what it writes", "[config][schema]") {
  // Every value differs from the struct's default. (Built in one initialiser:
  // GCC 12 at -O3 takes member-by-member assignment of the strings for a read of
  // an uninitialised one.)
  const MemberSettings m{.lbfactor = 333,
                         .lbset = 7,
                         .route = "r1",
                         .redirect = "r2",
                         .status = 0,
                         .hc_interval_ms = 2500,
                         .hc_passes = 3,
                         .hc_fails = 4,
                         .hc_method = "HEAD",
                         .hc_uri = "/health?x=1",
                         .hc_expr = "ok200",
                         .slowstart_s = 45};
  for (const MemberField& f : kMemberFields) {
    if (f.kind == FieldKind::kStatus) continue;
    CAPTURE(f.name);
    MemberSettings back;
    REQUIRE(reads(f, form_value(f, m), back));
    CHECK(same_value(f, m, back));
  }
  BalancerSettings b{"bylatency", 30, 2, true, "SID|sid"};
  for (const BalancerField& f : kBalancerFields) {
    CAPTURE(f.name);
    BalancerSettings back;
    REQUIRE(reads(f, form_value(f, b), back));
    CHECK(same_value(f, b, back));
  }
}

TEST_CASE("schema: an edit names the settings it writes", "[config][schema]") {
  EditRequest e;
  CHECK(!e.value(&MemberSettings::route));
  e.set(&MemberSettings::route, "n2");
  e.set(&BalancerSettings::timeout_s, 9);
  CHECK(e.value(&MemberSettings::route) == "n2");
  CHECK(e.value(&BalancerSettings::timeout_s) == 9);
  CHECK(!e.value(&MemberSettings::redirect));
  CHECK(e.edits_member());
  CHECK(e.edits_balancer());
  CHECK(!e.edits_health_checks());
  e.set(&MemberSettings::hc_uri, "/h");
  CHECK(e.edits_health_checks());
  MemberSettings after = e.applied(MemberSettings{});
  CHECK(after.route == "n2");
  CHECK(after.hc_uri == "/h");
  CHECK(after.redirect.empty());
}

TEST_CASE("schema: routes, redirects and weights rebuild the member indexes", "[config][schema]") {
  std::set<std::string_view> indexed;
  for (const MemberField& f : kMemberFields) {
    if (rebuilds_member_indexes({std::string(f.name), "", ""})) indexed.insert(f.name);
  }
  CHECK(indexed == std::set<std::string_view>{"loadfactor", "route", "redirect"});
  CHECK(!rebuilds_member_indexes({"lbmethod", "", ""}));
}

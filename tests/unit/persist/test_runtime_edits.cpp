// The forms that carry a balancer's runtime edits across a restart
// (core/persist/runtime_edits.hpp), and that they replay to the same settings.
#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "core/persist/runtime_edits.hpp"

using namespace isb;

namespace {

using Forms = std::vector<std::vector<FormField>>;

MemberSettings member(std::int64_t lbfactor, std::string route, std::uint32_t status = 0) {
  MemberSettings m;
  m.lbfactor = lbfactor;
  m.route = std::move(route);
  m.status = status;
  return m;
}

}  // namespace

TEST_CASE("runtime edits: nothing changed, nothing to carry", "[persist]") {
  BalancerSettings b{"byrequests", 0, 1, false, "JSESSIONID"};
  const MemberSettings a = member(100, "n1");
  const std::vector<MemberSlotView> slots{
      {"http://a:8080", SlotState::kActive, &a, a},
      {"", SlotState::kFree, nullptr, {}},  // an unused growth slot
  };
  CHECK(runtime_edits("c", b, b, slots, false).empty());
}

TEST_CASE("runtime edits: balancer, changed, removed and added members", "[persist]") {
  BalancerSettings configured{"byrequests", 0, 1, false, "JSESSIONID"};
  BalancerSettings now = configured;
  now.lbmethod = "bybusyness";
  now.sticky_force = true;

  const MemberSettings a = member(100, "n1");
  const MemberSettings b = member(100, "n2");
  const MemberSettings added_now = member(300, "n3", kDrain);  // enabled, then drained
  const std::vector<MemberSlotView> slots{
      {"http://a:8080", SlotState::kActive, &a, member(250, "n1", kDisabled)},
      {"http://b:8080", SlotState::kRemoved, &b, b},
      {"http://c:8080", SlotState::kActive, nullptr, added_now},
      {"http://d:8080", SlotState::kRemoved, nullptr, member(100, "")},  // added, then removed
  };
  const Forms forms = runtime_edits("c", configured, now, slots, false);
  const Forms want{
      {{"b", "c"}, {"b_lbm", "bybusyness"}, {"b_sforce", "1"}},
      {{"b", "c"}, {"w", "http://a:8080"}, {"w_lf", "2.5"}, {"w_status_D", "1"}},
      {{"b", "c"}, {"w", "http://b:8080"}, {"w_remove", "1"}},
      {{"b", "c"}, {"b_nwrkr", "http://c:8080"}, {"b_wyes", "1"}},
      {{"b", "c"},
       {"w", "http://c:8080"},
       {"w_lf", "3"},
       {"w_wr", "n3"},
       {"w_status_N", "1"},
       {"w_status_D", "0"}},
  };
  CHECK(forms == want);
}

TEST_CASE("runtime edits: each form parses back as an edit", "[persist]") {
  BalancerSettings configured{"byrequests", 0, 1, false, "JSESSIONID"};
  const MemberSettings a = member(100, "n1");
  BalancerSettings now = configured;
  now.timeout_s = 5;
  now.sticky = "ROUTEID";
  const MemberSettings current = member(700, "x2", kHotStandby | kStopped);
  const std::vector<MemberSlotView> slots{{"http://a:8080", SlotState::kActive, &a, current}};
  const Forms forms = runtime_edits("c", configured, now, slots, false);
  REQUIRE(forms.size() == 2);
  const std::array<std::string_view, 2> methods{"byrequests", "bybusyness"};
  const EditRules rules{methods, false};
  EditError err;
  auto b = parse_edit(forms[0], rules, err);
  REQUIRE(b);
  CHECK(b->applied(configured) == now);
  auto m = parse_edit(forms[1], rules, err);
  REQUIRE(m);
  CHECK(m->member == "http://a:8080");
  CHECK(m->applied(a) == current);
}

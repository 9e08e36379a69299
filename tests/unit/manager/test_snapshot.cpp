// What the manager's snapshot takes from the core's structs
// (core/manager/snapshot.hpp), and how an edit finds its member's slot.
#include <catch2/catch.hpp>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/config/own_settings.hpp"
#include "core/manager/apply.hpp"
#include "core/manager/snapshot.hpp"
#include "segment.hpp"

using namespace isb;
using isb::test::Segment;

TEST_CASE("snapshot: a member's figures come from its counters", "[manager][snapshot]") {
  Segment seg({1, 2, 0, 0, 1});
  MemberCounters& c = seg.state.member(0);
  c.busy = 3;
  c.elected = 40;
  c.lbstatus = -7;
  c.sticky = 12;
  c.faults = 2;
  c.latency_ewma_us = 1500;
  c.latency_sum_us = 6000;
  c.latency_count = 4;
  const std::int64_t now = 100'000'000;
  MemberSnapshot m;
  m.weight = 100;
  read_counters(c, now, m);
  CHECK(m.busy == 3);
  CHECK(m.elected == 40);
  CHECK(m.lbstatus == -7);
  CHECK(m.sticky == 12);
  CHECK(m.faults == 2);
  CHECK(m.latency_ewma_us == 1500);
  CHECK(m.latency_sum_us == 6000);
  CHECK(m.latency_count == 4);
  CHECK(m.latency_estimate_us == 0);  // no peak sample yet
  CHECK(m.in_service_since_us == 0);
  CHECK(m.effective_weight == 100);  // no slow-start window: the weight as configured

  // A 10 s window, in service for 5 s: the weight ramps, and the page says since when.
  c.slowstart_us = 10'000'000;
  c.in_service_since_us = now - 5'000'000;
  read_counters(c, now, m);
  CHECK(m.in_service_since_us == now - 5'000'000);
  CHECK(m.effective_weight > 0);
  CHECK(m.effective_weight < 100);
  read_counters(c, now + 5'000'000, m);
  CHECK(m.effective_weight == 100);

  BalancerCounters& b = seg.state.balancer(0);
  b.unavailable = 9;
  b.edits = 4;
  b.in_flight = 11;
  b.retries_in_flight = 2;
  b.retries = 30;
  b.retries_refused = 6;
  b.unsafe_retries_refused = 1;
  BalancerSnapshot bs;
  read_counters(b, bs);
  CHECK(bs.unavailable == 9);
  CHECK(bs.edits == 4);
  CHECK(bs.in_flight == 11);
  CHECK(bs.retries_in_flight == 2);
  CHECK(bs.retries == 30);
  CHECK(bs.retries_refused == 6);
  CHECK(bs.unsafe_retries_refused == 1);
}

TEST_CASE("snapshot: a member against its configuration, or added at run time",
          "[manager][snapshot]") {
  MemberSettings configured;
  configured.lbfactor = 100;
  const std::vector<std::optional<MemberSettings>> slots{configured, std::nullopt};
  MemberSnapshot edited;
  edited.settings = configured;
  edited.settings.lbfactor = 300;
  compare_with_configuration(edited, slots, 0, false);
  CHECK(!edited.added);
  REQUIRE(edited.differs.size() == 1);
  CHECK(edited.differs[0].before != edited.differs[0].after);

  MemberSnapshot same;
  same.settings = configured;
  compare_with_configuration(same, slots, 0, false);
  CHECK((!same.added && same.differs.empty()));
  // A growth slot, or a slot past the balancer's (another balancer's member).
  MemberSnapshot grown;
  compare_with_configuration(grown, slots, 1, false);
  CHECK((grown.added && grown.differs.empty()));
  MemberSnapshot stray;
  compare_with_configuration(stray, slots, 7, false);
  CHECK(stray.added);
}

TEST_CASE("snapshot: configured members removed at run time are listed, in slot order",
          "[manager][snapshot]") {
  Segment seg({1, 5, 0, 0, 1});
  const SharedState& s = seg.state;
  const std::array<std::uint8_t, 3> configured{1, 1, 1};
  const BalancerSlots slots{0, 0, configured, 5};
  for (std::uint32_t i = 0; i < 5; ++i) s.member(i).slot = slot_word(SlotState::kActive, 1);
  CHECK(removed_configured(s, slots).empty());
  s.member(2).slot = slot_word(SlotState::kRemoved, 1);
  s.member(0).slot = slot_word(SlotState::kRemoved, 1);
  s.member(4).slot = slot_word(SlotState::kRemoved, 2);  // an added one: not listed
  CHECK(removed_configured(s, slots) == std::vector<std::uint32_t>{0, 2});
}

TEST_CASE("apply: an edit finds its member among the active slots, spelled any way",
          "[manager][apply]") {
  Segment seg({2, 6, 0, 0, 1});
  const SharedState& s = seg.state;
  // Balancer 1 owns slots 3..5.
  const std::array<std::uint8_t, 2> configured{1, 1};
  const BalancerSlots slots{1, 3, configured, 3};
  const std::array<std::string, 6> urls{"http://a", "http://x", "", "http://a", "http://b", ""};
  auto url_of = [&urls](std::uint32_t slot) { return std::string_view(urls[slot]); };
  s.member(0).slot = slot_word(SlotState::kActive, 1);  // another balancer's http://a
  s.member(3).slot = slot_word(SlotState::kActive, 1);
  s.member(4).slot = slot_word(SlotState::kRemoved, 1);
  CHECK(find_active_member(s, slots, "HTTP://A:80/", url_of) == 3u);
  CHECK(!find_active_member(s, slots, "http://b", url_of));  // removed
  CHECK(!find_active_member(s, slots, "http://x", url_of));  // not this balancer's
}

TEST_CASE("own settings: ours live in the member's counters", "[config][directives]") {
  Segment seg({1, 1, 0, 0, 1});
  MemberCounters& c = seg.state.member(0);
  MemberSettings m;
  m.slowstart_s = 45;
  m.route = "n1";
  write_own_settings(c, m);
  CHECK(c.slowstart_us == 45'000'000);
  MemberSettings read;
  read.route = "r";
  read = with_own_settings(read, c);
  CHECK(read.slowstart_s == 45);
  CHECK(read.route == "r");  // mod_proxy's are not ours to read here

  // A fresh segment: each configured member's from the configuration.
  Segment fresh({1, 3, 0, 0, 1});
  fresh.state.member(2).slowstart_us = 7;
  MemberSettings slow;
  slow.slowstart_s = 30;
  const std::vector<std::optional<MemberSettings>> configured{MemberSettings{}, slow, std::nullopt};
  write_own_settings(fresh.state, 0, configured);
  CHECK(fresh.state.member(0).slowstart_us == 0);
  CHECK(fresh.state.member(1).slowstart_us == 30'000'000);
  CHECK(fresh.state.member(2).slowstart_us == 7);  // a growth slot is left as it is

  EditRequest none;
  none.set(&MemberSettings::lbfactor, 200);
  write_own_settings(c, none);
  CHECK(c.slowstart_us == 45'000'000);  // an edit without slowstart leaves it
  EditRequest e;
  e.set(&MemberSettings::slowstart_s, 0);
  write_own_settings(c, e);
  CHECK(c.slowstart_us == 0);
}

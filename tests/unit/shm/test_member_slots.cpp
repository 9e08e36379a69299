// Member slots (core/shm/member_slots.hpp): which slot an added member takes,
// and the slot's life from free to removed and back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <thread>
#include <vector>

#include "core/shm/member_slots.hpp"
#include "segment.hpp"

using namespace isb;
using isb::test::Segment;

namespace {

// Balancer 0: member slots 0..5; two configured members, four growth slots.
const std::array<std::uint8_t, 2> kConfigured{1, 1};
const BalancerSlots kSlots{0, 0, kConfigured, 6};

SlotState state_of(const SharedState& s, std::uint32_t slot) {
  return slot_state(s.member(slot).slot.load());
}

void make_active(const SharedState& s, std::uint32_t slot) {
  s.member(slot).slot.store(slot_word(SlotState::kActive, 1));
}

}  // namespace

TEST_CASE("member slots: never-used growth slots first, then removed ones", "[shm][slots]") {
  Segment seg({1, 6, 0, 0, 1});
  const SharedState& s = seg.state;
  make_active(s, 0);
  make_active(s, 1);
  CHECK(free_member_slots(s, kSlots) == 4);

  auto a = claim_member_slot(s, kSlots);
  REQUIRE(a);
  CHECK(a->slot == 2);
  CHECK(state_of(s, 2) == SlotState::kClaimed);
  CHECK(free_member_slots(s, kSlots) == 3);
  abandon_claim(s, *a);  // the member could not be defined: as it was
  CHECK(state_of(s, 2) == SlotState::kFree);
  CHECK(free_member_slots(s, kSlots) == 4);

  const std::uint64_t version = s.balancer(0).members_version.load();
  s.member(2).elected = 7;
  s.member(2).lbstatus = -3;
  s.member(2).latency_count = 9;
  s.member(2).peak_latency_us = 5000;
  s.member(2).slowstart_us = 30'000'000;  // written by the add, before activation
  a = claim_member_slot(s, kSlots);
  REQUIRE(a);
  activate_member_slot(s, 0, *a);
  CHECK(s.member(2).slot.load() == slot_word(SlotState::kActive, 1));
  CHECK(s.member(2).elected.load() == 0);
  CHECK(s.member(2).lbstatus.load() == 0);
  CHECK(s.member(2).latency_count.load() == 0);
  CHECK(s.member(2).peak_latency_us.load() == 0);
  CHECK(s.member(2).slowstart_us.load() == 30'000'000);
  CHECK(s.member(2).in_service_since_us.load() == kOutOfService);
  CHECK(s.balancer(0).members_version.load() == version + 1);

  // Fill the rest; then nothing is left.
  for (std::uint32_t want : {3u, 4u, 5u}) {
    auto c = claim_member_slot(s, kSlots);
    REQUIRE(c);
    CHECK(c->slot == want);
    activate_member_slot(s, 0, *c);
  }
  CHECK(free_member_slots(s, kSlots) == 0);
  CHECK(!claim_member_slot(s, kSlots));

  // A removed member's slot is reused once nothing is in flight on it.
  REQUIRE(remove_member_slot(s, 0, 3));
  CHECK(state_of(s, 3) == SlotState::kRemoved);
  CHECK(!remove_member_slot(s, 0, 3));  // not active any more: nothing happens
  s.member(3).busy = 1;
  CHECK(free_member_slots(s, kSlots) == 0);
  CHECK(!claim_member_slot(s, kSlots));
  s.member(3).busy = 0;
  CHECK(free_member_slots(s, kSlots) == 1);
  auto r = claim_member_slot(s, kSlots);
  REQUIRE(r);
  CHECK(r->slot == 3);
  activate_member_slot(s, 0, *r);
  CHECK(s.member(3).slot.load() == slot_word(SlotState::kActive, 2));  // a new incarnation
}

TEST_CASE("member slots: a configured member's slot is never handed out again", "[shm][slots]") {
  Segment seg({1, 6, 0, 0, 1});
  const SharedState& s = seg.state;
  for (std::uint32_t i = 0; i < 6; ++i) make_active(s, i);
  REQUIRE(remove_member_slot(s, 0, 0));
  CHECK(free_member_slots(s, kSlots) == 0);
  CHECK(!claim_member_slot(s, kSlots));
  CHECK(!slot_takes_new_member(s, kSlots, 0));
  CHECK(!slot_takes_new_member(s, kSlots, 6));  // past the balancer's slots
}

TEST_CASE("member slots: a never-used slot wins over a removed one", "[shm][slots]") {
  Segment seg({1, 6, 0, 0, 1});
  const SharedState& s = seg.state;
  for (std::uint32_t i = 0; i < 5; ++i) make_active(s, i);
  REQUIRE(remove_member_slot(s, 0, 2));
  auto c = claim_member_slot(s, kSlots);
  REQUIRE(c);
  CHECK(c->slot == 5);
}

TEST_CASE("member slots: concurrent adds never share a slot", "[shm][slots]") {
  Segment seg({1, 6, 0, 0, 1});
  const SharedState& s = seg.state;
  std::vector<std::thread> threads;
  std::array<std::int64_t, 8> got{};
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      auto c = claim_member_slot(s, kSlots);
      got[t] = c ? static_cast<std::int64_t>(c->slot) : -1;
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::int64_t> slots(got.begin(), got.end());
  std::sort(slots.begin(), slots.end());
  // Four growth slots for eight adders: four get one each, all different.
  CHECK(slots == std::vector<std::int64_t>{-1, -1, -1, -1, 2, 3, 4, 5});
}

TEST_CASE("member slots: reset_credit puts every member back to the same credit", "[shm][slots]") {
  Segment seg({1, 6, 0, 0, 1});
  const SharedState& s = seg.state;
  for (std::uint32_t i = 0; i < 6; ++i) s.member(i).lbstatus = static_cast<std::int64_t>(i) - 3;
  reset_credit(s, kSlots);
  for (std::uint32_t i = 0; i < 6; ++i) CHECK(s.member(i).lbstatus.load() == 0);
}

TEST_CASE("member slots: what a process does with its own handle of a slot", "[shm][slots]") {
  const std::uint64_t active3 = slot_word(SlotState::kActive, 3);
  // Not active (free, claimed, removed): left out of the member list.
  CHECK(local_slot_action(slot_word(SlotState::kRemoved, 3), true, 3, "http://a", "http://a") ==
        LocalSlot::kLeaveOut);
  CHECK(local_slot_action(slot_word(SlotState::kClaimed, 4), false, 0, "", "http://a") ==
        LocalSlot::kLeaveOut);
  CHECK(local_slot_action(0, false, 0, "", "") == LocalSlot::kLeaveOut);
  // Active: no handle yet, or one for another incarnation and URL: make one.
  CHECK(local_slot_action(active3, false, 0, "", "http://a") == LocalSlot::kMake);
  CHECK(local_slot_action(active3, true, 2, "http://b", "http://a") == LocalSlot::kMake);
  // The same URL removed and added again: the handle (its connection pool) stays.
  CHECK(local_slot_action(active3, true, 2, "http://a", "http://a") == LocalSlot::kReuse);
  // The incarnation it was made for: kept, whatever the names say.
  CHECK(local_slot_action(active3, true, 3, "http://a", "http://a") == LocalSlot::kKeep);
}

#include "core/shm/member_slots.hpp"

namespace isb {
namespace {

bool is_configured(const BalancerSlots& b, std::uint32_t i) noexcept {
  return i < b.configured.size() && b.configured[i] != 0;
}

// A removed member's slot may take a new member once no request is in flight on it.
bool reusable(SlotState st, const MemberCounters& c) noexcept {
  return st == SlotState::kRemoved && c.busy.load(std::memory_order_acquire) == 0;
}

}  // namespace

bool slot_takes_new_member(const SharedState& state, const BalancerSlots& b,
                           std::uint32_t i) noexcept {
  if (i >= b.count || is_configured(b, i)) return false;
  const MemberCounters& c = state.member(b.first + i);
  const SlotState st = slot_state(c.slot.load(std::memory_order_acquire));
  return st == SlotState::kFree || reusable(st, c);
}

std::uint32_t free_member_slots(const SharedState& state, const BalancerSlots& b) noexcept {
  std::uint32_t n = 0;
  for (std::uint32_t i = 0; i < b.count; ++i) n += slot_takes_new_member(state, b, i) ? 1 : 0;
  return n;
}

std::optional<SlotClaim> claim_member_slot(const SharedState& state,
                                           const BalancerSlots& b) noexcept {
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t i = 0; i < b.count; ++i) {
      if (is_configured(b, i)) continue;
      MemberCounters& c = state.member(b.first + i);
      std::uint64_t word = c.slot.load(std::memory_order_acquire);
      const SlotState st = slot_state(word);
      if (pass == 0 ? st != SlotState::kFree : !reusable(st, c)) continue;
      const std::uint64_t claimed = slot_word(SlotState::kClaimed, slot_incarnation(word));
      if (c.slot.compare_exchange_strong(word, claimed, std::memory_order_acq_rel)) {
        return SlotClaim{b.first + i, word};
      }
    }
  }
  return std::nullopt;
}

void abandon_claim(const SharedState& state, const SlotClaim& claim) noexcept {
  state.member(claim.slot).slot.store(claim.previous, std::memory_order_release);
}

void activate_member_slot(const SharedState& state, std::uint32_t balancer,
                          const SlotClaim& claim) noexcept {
  MemberCounters& c = state.member(claim.slot);
  c.lbstatus.store(0, std::memory_order_relaxed);
  c.busy.store(0, std::memory_order_relaxed);
  c.elected.store(0, std::memory_order_relaxed);
  c.sticky.store(0, std::memory_order_relaxed);
  c.faults.store(0, std::memory_order_relaxed);
  // Nothing of the slot's previous member speaks for this one: not its latency,
  // nor its time in service (it is added disabled, so it slow-starts once enabled).
  c.latency_ewma_us.store(0, std::memory_order_relaxed);
  c.latency_sum_us.store(0, std::memory_order_relaxed);
  c.latency_count.store(0, std::memory_order_relaxed);
  c.peak_latency_us.store(0, std::memory_order_relaxed);
  c.peak_stamp_us.store(0, std::memory_order_relaxed);
  c.in_service_since_us.store(kOutOfService, std::memory_order_relaxed);
  c.slot.store(slot_word(SlotState::kActive, slot_incarnation(claim.previous) + 1),
               std::memory_order_release);
  state.balancer(balancer).members_version.fetch_add(1, std::memory_order_acq_rel);
}

bool remove_member_slot(const SharedState& state, std::uint32_t balancer,
                        std::uint32_t slot) noexcept {
  MemberCounters& c = state.member(slot);
  const std::uint64_t word = c.slot.load(std::memory_order_acquire);
  if (slot_state(word) != SlotState::kActive) return false;
  c.slot.store(slot_word(SlotState::kRemoved, slot_incarnation(word)), std::memory_order_release);
  state.balancer(balancer).members_version.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

void reset_credit(const SharedState& state, const BalancerSlots& b) noexcept {
  for (std::uint32_t i = 0; i < b.count; ++i) {
    state.member(b.first + i).lbstatus.store(0, std::memory_order_relaxed);
  }
}

LocalSlot local_slot_action(std::uint64_t word, bool known, std::uint64_t incarnation,
                            std::string_view known_name, std::string_view name) noexcept {
  if (slot_state(word) != SlotState::kActive) return LocalSlot::kLeaveOut;
  if (!known) return LocalSlot::kMake;
  if (incarnation == slot_incarnation(word)) return LocalSlot::kKeep;
  return known_name == name ? LocalSlot::kReuse : LocalSlot::kMake;
}

}  // namespace isb

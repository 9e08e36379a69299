#include "core/manager/snapshot.hpp"

#include "core/health/slow_start.hpp"

namespace isb {

void read_counters(const MemberCounters& c, std::int64_t now_us, MemberSnapshot& m) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  m.effective_weight = effective_weight(c, m.weight, now_us);
  m.in_service_since_us = c.in_service_since_us.load(kRelaxed);
  const std::int64_t until = c.ejected_until_us.load(kRelaxed);
  m.ejected_until_us = until > now_us ? until : 0;
  m.ejections = c.ejections.load(kRelaxed);
  m.ejections_capped = c.ejections_capped.load(kRelaxed);
  m.consecutive_5xx = c.consecutive_5xx.load(kRelaxed);
  m.consecutive_gateway = c.consecutive_gateway.load(kRelaxed);
  m.busy = c.busy.load(kRelaxed);
  m.elected = c.elected.load(kRelaxed);
  m.lbstatus = c.lbstatus.load(kRelaxed);
  m.sticky = c.sticky.load(kRelaxed);
  m.faults = c.faults.load(kRelaxed);
  m.latency_ewma_us = c.latency_ewma_us.load(kRelaxed);
  m.latency_estimate_us = latency_estimate_us(c, now_us);
  m.latency_sum_us = c.latency_sum_us.load(kRelaxed);
  m.latency_count = c.latency_count.load(kRelaxed);
}

void read_counters(const BalancerCounters& c, BalancerSnapshot& b) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  b.unavailable = c.unavailable.load(kRelaxed);
  b.edits = c.edits.load(kRelaxed);
  b.in_flight = c.in_flight.load(kRelaxed);
  b.retries_in_flight = c.retries_in_flight.load(kRelaxed);
  b.retries = c.retries.load(kRelaxed);
  b.retries_refused = c.retries_refused.load(kRelaxed);
  b.unsafe_retries_refused = c.unsafe_retries_refused.load(kRelaxed);
}

void compare_with_configuration(MemberSnapshot& m,
                                std::span<const std::optional<MemberSettings>> configured,
                                std::uint32_t slot, bool health_checks) {
  if (slot < configured.size() && configured[slot]) {
    m.differs = diff(*configured[slot], m.settings, health_checks);
  } else {
    m.added = true;
  }
}

std::vector<std::uint32_t> removed_configured(const SharedState& state, const BalancerSlots& b) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < b.count && i < b.configured.size(); ++i) {
    if (b.configured[i] == 0) continue;
    const std::uint64_t word = state.member(b.first + i).slot.load(std::memory_order_acquire);
    if (slot_state(word) == SlotState::kRemoved) out.push_back(i);
  }
  return out;
}

}  // namespace isb

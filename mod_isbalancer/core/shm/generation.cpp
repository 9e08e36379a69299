#include "core/shm/generation.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>

namespace isb {

std::uint32_t process_rows(std::optional<int> hard_limit) noexcept {
  // 16 when the MPM does not say: a row-less process still counts busy and
  // its retry-budget counts, only unreclaimed.
  const int limit = hard_limit && *hard_limit > 0 ? *hard_limit : 16;
  const auto rows = 2 * static_cast<std::uint64_t>(limit) + 16;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(rows, kMaxProcessRows));
}

void* aligned_start(void* mapping) noexcept {
  auto addr = reinterpret_cast<std::uintptr_t>(mapping);
  addr = (addr + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
  return reinterpret_cast<void*>(addr);
}

std::optional<KeptSegment> keep_segment(void* mem, std::size_t size,
                                        const SegmentGeometry& geometry,
                                        std::uint64_t fingerprint) noexcept {
  auto kept = SharedState::attach(mem, size, nullptr);
  if (!kept || kept->geometry() != geometry || kept->header().config_fingerprint != fingerprint) {
    return std::nullopt;
  }
  // The old generation's edits live on in the kept segment: open it again.
  for (std::uint32_t i = 0; i < geometry.balancer_capacity; ++i) {
    kept->balancer(i).closed.store(0, std::memory_order_release);
  }
  const std::uint64_t generation = kept->header().generation.fetch_add(1) + 1;
  return KeptSegment{*kept, generation};
}

std::uint64_t take_configured_slot(const SharedState& state, std::uint32_t member,
                                   bool fresh) noexcept {
  MemberCounters& c = state.member(member);
  if (fresh) c.slot.store(slot_word(SlotState::kActive, 1));
  return slot_incarnation(c.slot.load());
}

bool process_alive(std::int64_t pid) noexcept {
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace isb

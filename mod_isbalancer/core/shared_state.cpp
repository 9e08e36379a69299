#include "shared_state.hpp"

#include <cstring>
#include <limits>
#include <new>

namespace isb {
namespace {

constexpr std::size_t round_up(std::size_t n, std::size_t align) noexcept {
  return (n + align - 1) / align * align;
}

struct Sizes {
  std::size_t header;
  std::size_t balancer_slot;
  std::size_t member_slot;
  std::size_t total;
};

// Every multiplication and addition is checked: capacities come from the
// configuration and growth settings.
std::optional<Sizes> compute_sizes(const SegmentGeometry& g) noexcept {
  constexpr std::size_t kMaxHost = 1u << 20;
  if (g.balancer_host_bytes > kMaxHost || g.member_host_bytes > kMaxHost) return std::nullopt;
  Sizes s{};
  s.header = round_up(sizeof(SegmentHeader), kSlotAlign);
  s.balancer_slot = round_up(sizeof(BalancerCounters) + g.balancer_host_bytes, kSlotAlign);
  s.member_slot = round_up(sizeof(MemberCounters) + g.member_host_bytes, kSlotAlign);
  std::size_t b = 0;
  std::size_t m = 0;
  if (__builtin_mul_overflow(s.balancer_slot, std::size_t{g.balancer_capacity}, &b) ||
      __builtin_mul_overflow(s.member_slot, std::size_t{g.member_capacity}, &m) ||
      __builtin_add_overflow(s.header, b, &s.total) ||
      __builtin_add_overflow(s.total, m, &s.total) ||
      s.total > std::numeric_limits<std::uint32_t>::max() * std::size_t{16}) {
    return std::nullopt;
  }
  return s;
}

}  // namespace

std::optional<std::size_t> SharedState::bytes_needed(const SegmentGeometry& g) noexcept {
  auto s = compute_sizes(g);
  if (!s) return std::nullopt;
  return s->total;
}

std::optional<SharedState> SharedState::create(void* mem, std::size_t size,
                                               const SegmentGeometry& g,
                                               std::uint64_t config_fingerprint) noexcept {
  auto s = compute_sizes(g);
  if (!s || mem == nullptr || size < s->total ||
      reinterpret_cast<std::uintptr_t>(mem) % kSlotAlign != 0) {
    return std::nullopt;
  }
  std::memset(mem, 0, s->total);
  auto* h = new (mem) SegmentHeader{};
  h->layout_version = kLayoutVersion;
  h->header_bytes = static_cast<std::uint32_t>(s->header);
  h->total_bytes = s->total;
  h->geometry = g;
  h->balancer_slot_bytes = static_cast<std::uint32_t>(s->balancer_slot);
  h->member_slot_bytes = static_cast<std::uint32_t>(s->member_slot);
  h->config_fingerprint = config_fingerprint;
  h->generation.store(0, std::memory_order_relaxed);
  SharedState state(mem);
  for (std::uint32_t i = 0; i < g.balancer_capacity; ++i)
    new (state.balancer_slot(i)) BalancerCounters{};
  for (std::uint32_t i = 0; i < g.member_capacity; ++i) new (state.member_slot(i)) MemberCounters{};
  // The magic goes last: a half-formatted segment never validates.
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = kSegmentMagic;
  return state;
}

std::optional<SharedState> SharedState::attach(void* mem, std::size_t size,
                                               std::string* why) noexcept {
  auto fail = [why](const char* text) -> std::optional<SharedState> {
    if (why) *why = text;
    return std::nullopt;
  };
  if (mem == nullptr || size < sizeof(SegmentHeader))
    return fail("segment smaller than its header");
  if (reinterpret_cast<std::uintptr_t>(mem) % kSlotAlign != 0) return fail("segment misaligned");
  const auto* h = static_cast<const SegmentHeader*>(mem);
  if (h->magic != kSegmentMagic) return fail("bad magic: not an mod_isbalancer segment");
  if (h->layout_version != kLayoutVersion) return fail("layout version differs");
  auto s = compute_sizes(h->geometry);
  if (!s || s->total != h->total_bytes || s->header != h->header_bytes ||
      s->balancer_slot != h->balancer_slot_bytes || s->member_slot != h->member_slot_bytes) {
    return fail("recorded sizes are inconsistent");
  }
  if (h->total_bytes > size) return fail("segment shorter than its recorded size");
  return SharedState(mem);
}

}  // namespace isb

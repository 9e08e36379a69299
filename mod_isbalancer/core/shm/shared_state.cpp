#include "core/shm/shared_state.hpp"

#include <cmath>
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
  std::size_t process_row;
  std::size_t total;
};

// Every multiplication and addition is checked: capacities come from the
// configuration and growth settings.
std::optional<Sizes> compute_sizes(const SegmentGeometry& g) noexcept {
  constexpr std::size_t kMaxHost = 1u << 20;
  if (g.balancer_host_bytes > kMaxHost || g.member_host_bytes > kMaxHost ||
      g.process_capacity > kMaxProcessRows) {
    return std::nullopt;
  }
  Sizes s{};
  s.header = round_up(sizeof(SegmentHeader), kSlotAlign);
  s.balancer_slot = round_up(sizeof(BalancerCounters) + g.balancer_host_bytes, kSlotAlign);
  s.member_slot = round_up(sizeof(MemberCounters) + g.member_host_bytes, kSlotAlign);
  std::size_t b = 0;
  std::size_t m = 0;
  std::size_t held = 0;
  std::size_t budget_held = 0;
  std::size_t row = 0;
  std::size_t p = 0;
  // A ledger row: its head, a busy count per member, then a BudgetHeld per balancer.
  if (__builtin_mul_overflow(sizeof(std::atomic<std::int32_t>), std::size_t{g.member_capacity},
                             &held) ||
      __builtin_mul_overflow(sizeof(BudgetHeld), std::size_t{g.balancer_capacity}, &budget_held) ||
      __builtin_add_overflow(sizeof(ProcessRow), held, &row) ||
      __builtin_add_overflow(row, budget_held, &row)) {
    return std::nullopt;
  }
  s.process_row = round_up(row, kSlotAlign);
  if (__builtin_mul_overflow(s.balancer_slot, std::size_t{g.balancer_capacity}, &b) ||
      __builtin_mul_overflow(s.member_slot, std::size_t{g.member_capacity}, &m) ||
      __builtin_mul_overflow(s.process_row, std::size_t{g.process_capacity}, &p) ||
      __builtin_add_overflow(s.header, b, &s.total) ||
      __builtin_add_overflow(s.total, m, &s.total) ||
      __builtin_add_overflow(s.total, p, &s.total) ||
      s.total > std::numeric_limits<std::uint32_t>::max() * std::size_t{16}) {
    return std::nullopt;
  }
  return s;
}

}  // namespace

std::int64_t latency_estimate_us(const MemberCounters& c, std::int64_t now_us) noexcept {
  const std::int64_t peak = c.peak_latency_us.load(std::memory_order_relaxed);
  const std::int64_t age = now_us - c.peak_stamp_us.load(std::memory_order_relaxed);
  if (peak <= 0 || age <= 0) return peak;
  if (age >= 40 * kPeakHalfLifeUs) return 1;  // 2^-40 of any sample: nothing left
  const double halvings = static_cast<double>(age) / static_cast<double>(kPeakHalfLifeUs);
  const auto decayed = static_cast<std::int64_t>(static_cast<double>(peak) * std::exp2(-halvings));
  return decayed > 0 ? decayed : 1;  // 0 stays "no sample yet"
}

void record_latency(MemberCounters& c, std::int64_t sample_us, std::int64_t now_us) noexcept {
  if (sample_us < 0) sample_us = 0;
  std::int64_t old = c.latency_ewma_us.load(std::memory_order_relaxed);
  std::int64_t next = 0;
  do {
    next = old == 0 ? sample_us : old + (sample_us - old) / 8;
    if (next == 0) next = 1;  // 0 means "no sample yet"
  } while (!c.latency_ewma_us.compare_exchange_weak(old, next, std::memory_order_relaxed));
  c.latency_sum_us.fetch_add(static_cast<std::uint64_t>(sample_us), std::memory_order_relaxed);
  c.latency_count.fetch_add(1, std::memory_order_relaxed);

  // Two children recording at once may each write a value computed from the same
  // old one, and a reader may pair a new value with the old stamp for a moment:
  // either costs at most one sample's worth of precision, never a wrong order of
  // magnitude, so plain stores are enough.
  const std::int64_t decayed = latency_estimate_us(c, now_us);
  std::int64_t peak =
      decayed == 0 || sample_us >= decayed ? sample_us : decayed + (sample_us - decayed) / 8;
  if (peak == 0) peak = 1;
  c.peak_latency_us.store(peak, std::memory_order_relaxed);
  c.peak_stamp_us.store(now_us, std::memory_order_relaxed);
}

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
  h->process_row_bytes = static_cast<std::uint32_t>(s->process_row);
  h->config_fingerprint = config_fingerprint;
  h->generation.store(0, std::memory_order_relaxed);
  SharedState state(mem);
  for (std::uint32_t i = 0; i < g.balancer_capacity; ++i)
    new (state.balancer_slot(i)) BalancerCounters{};
  for (std::uint32_t i = 0; i < g.member_capacity; ++i) new (state.member_slot(i)) MemberCounters{};
  for (std::uint32_t r = 0; r < g.process_capacity; ++r) {
    new (state.process_row_at(r)) ProcessRow{};
    for (std::uint32_t i = 0; i < g.member_capacity; ++i) {
      new (&state.held(r, i)) std::atomic<std::int32_t>(0);
    }
    for (std::uint32_t i = 0; i < g.balancer_capacity; ++i)
      new (&state.budget_held(r, i)) BudgetHeld{};
  }
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
      s->balancer_slot != h->balancer_slot_bytes || s->member_slot != h->member_slot_bytes ||
      s->process_row != h->process_row_bytes) {
    return fail("recorded sizes are inconsistent");
  }
  if (h->total_bytes > size) return fail("segment shorter than its recorded size");
  return SharedState(mem);
}

std::optional<std::uint32_t> SharedState::claim_process_row(std::int64_t pid) const noexcept {
  if (pid <= 0) return std::nullopt;
  const std::uint32_t rows = geometry().process_capacity;
  for (std::uint32_t r = 0; r < rows; ++r) {
    std::int64_t free = 0;
    if (process_row(r).owner.compare_exchange_strong(free, pid, std::memory_order_acq_rel)) {
      return r;
    }
  }
  return std::nullopt;
}

namespace {

// Gives back what one row holds; adds it to `out`. The row's count is taken first,
// then the shared one lowered by it: the same order as a request's own release.
void give_back_row(const SharedState& s, std::uint32_t row, Reclaimed& out) noexcept {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const SegmentGeometry& g = s.geometry();
  for (std::uint32_t i = 0; i < g.member_capacity; ++i) {
    const std::int32_t n = s.held(row, i).exchange(0, std::memory_order_acq_rel);
    if (n != 0) s.member(i).busy.fetch_sub(n, kRelaxed);
    out.busy += n;
  }
  for (std::uint32_t i = 0; i < g.balancer_capacity; ++i) {
    BudgetHeld& h = s.budget_held(row, i);
    BalancerCounters& c = s.balancer(i);
    // Failovers before requests, as budget_leave: a reader never sees more
    // failovers in flight than requests because of this row.
    const std::int32_t retries = h.retries_in_flight.exchange(0, std::memory_order_acq_rel);
    if (retries != 0) c.retries_in_flight.fetch_sub(retries, kRelaxed);
    const std::int32_t requests = h.in_flight.exchange(0, std::memory_order_acq_rel);
    if (requests != 0) c.in_flight.fetch_sub(requests, kRelaxed);
    out.retries_in_flight += retries;
    out.in_flight += requests;
  }
}

}  // namespace

void SharedState::release_process_row(std::uint32_t row) const noexcept {
  Reclaimed ignored;
  give_back_row(*this, row, ignored);
  process_row(row).owner.store(0, std::memory_order_release);
}

Reclaimed SharedState::reclaim_dead_rows(bool (*alive)(std::int64_t pid)) const noexcept {
  Reclaimed returned;
  const std::uint32_t rows = geometry().process_capacity;
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::int64_t owner = process_row(r).owner.load(std::memory_order_acquire);
    if (owner == 0 || alive(owner)) continue;
    give_back_row(*this, r, returned);
    process_row(r).owner.store(0, std::memory_order_release);
  }
  return returned;
}

}  // namespace isb

// Slow start: a member that comes (back) into service earns its weight over a
// window instead of taking its full share at once, so a JVM that has just
// restarted, or a node back from an error, warms up on a trickle of new
// sessions. It applies to every method alike, because the ramp lowers the
// candidate's effective weight (Candidate::weight), which every method reads.
//
// The ramp is linear with a floor, as Envoy's slow_start_config with its
// defaults (aggression 1.0, min_weight_percent 10) and HAProxy's slowstart:
//
//   effective = weight * max(10 %, t / window)    for 0 <= t < window
//
// where t is the time since the member came into service. "Into service" is
// seen, not announced, from three places, so every way back counts the same
// (the end of its retry interval or of an outlier ejection, a health check
// passing again, an operator enabling or un-draining it, a member added at run
// time): whoever balances a
// request notes each member it looks at (note_service); every member is noted
// once a second by one child when mod_watchdog is loaded (mod_proxy_hcheck needs
// it) and every ten seconds or so by httpd's parent (its monitor hook), so a
// change while no request comes is seen too;
// and a balancer-manager edit notes the member it changes at once. The time
// lives in shared memory, so every child sees one ramp. A member that was in
// service when the segment was made (httpd's start) does not ramp, unless it
// is set to (slowstartatstart=1: note_segment_start).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "core/member/status.hpp"
#include "core/shm/shared_state.hpp"

namespace isb {

// The least share of its weight a member ramps from, in thousandths.
inline constexpr std::int64_t kSlowStartFloorPermille = 100;

// The weight of a member of configured `weight` that came into service at
// `since_us` (0: before the segment existed; kOutOfService: not in service) with
// a slow-start window of `window_us` (0: none), at `now_us`. At least 1 while
// ramping, so that every method can still divide by it.
constexpr std::int64_t slow_start_weight(std::int64_t weight, std::int64_t since_us,
                                         std::int64_t window_us, std::int64_t now_us) noexcept {
  if (window_us <= 0 || since_us <= 0) return weight;
  const std::int64_t t = now_us - since_us;
  if (t >= window_us) return weight;
  const std::int64_t permille = std::max(kSlowStartFloorPermille, t > 0 ? t * 1000 / window_us : 0);
  return std::max<std::int64_t>(1, weight * permille / 1000);
}

// Whether a member with shared status `status` is in service for slow start:
// nothing keeps it from taking new sessions (disabled, stopped, in error, health
// check failed, draining). Initialisation, which each process does for itself,
// does not count.
constexpr bool in_service(std::uint32_t status) noexcept {
  return (status & (kNotUsable | kDrain)) == 0;
}

// Notes that the member is (not) in service at `now_us`, for its slow-start
// clock. The clock runs whether or not the member has a window, so that a
// window set while it is out still ramps it when it comes back. Costs one
// relaxed load, and a store only when the member goes out or comes back.
inline void note_service(MemberCounters& c, bool usable, std::int64_t now_us) noexcept {
  std::int64_t since = c.in_service_since_us.load(std::memory_order_relaxed);
  if (!usable) {
    if (since != kOutOfService) {
      c.in_service_since_us.store(kOutOfService, std::memory_order_relaxed);
    }
  } else if (since == kOutOfService) {
    // One of the processes that see it first sets the time; the others' CAS fails.
    c.in_service_since_us.compare_exchange_strong(since, std::max<std::int64_t>(now_us, 1),
                                                  std::memory_order_relaxed);
  }
}

// An edit that takes the member out of service (`before` in, `after` not) or
// brings it back tells the clock at once, rather than leave it to the next
// request that looks.
inline void note_edit(MemberCounters& c, bool before, bool after, std::int64_t now_us) noexcept {
  if (before == after) return;
  c.in_service_since_us.store(after ? std::max<std::int64_t>(now_us, 1) : kOutOfService,
                              std::memory_order_relaxed);
}

// A new segment (httpd's start, or a restart that could not keep the old one)
// was made at `now_us`: a member set to ramp at start counts as coming into
// service then. Others are in service "since before", and do not ramp.
inline void note_segment_start(MemberCounters& c, std::int64_t now_us) noexcept {
  if (c.slowstart_at_start.load(std::memory_order_relaxed) != 0) {
    c.in_service_since_us.store(std::max<std::int64_t>(now_us, 1), std::memory_order_relaxed);
  }
}

// The member's effective weight at `now_us`.
inline std::int64_t effective_weight(const MemberCounters& c, std::int64_t weight,
                                     std::int64_t now_us) noexcept {
  const std::int64_t window = c.slowstart_us.load(std::memory_order_relaxed);
  if (window <= 0) return weight;
  return slow_start_weight(weight, c.in_service_since_us.load(std::memory_order_relaxed), window,
                           now_us);
}

}  // namespace isb

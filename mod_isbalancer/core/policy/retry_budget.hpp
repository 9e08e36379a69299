// The retry budget: how many failovers a balancer lets run at once, so that a
// mass failure (every member refusing connections, say) gives fast 503s instead
// of multiplying each request into `maxattempts` attempts. It is Envoy's
// retry_budget (budget_percent 20, min_retry_concurrency 3):
//
//   a failover (attempt >= 1 of a request) is let through while the failovers in
//   flight, counting it, stay at or under
//
//     limit = max(floor, percent x requests in flight / 100)      (rounded down)
//
// The first attempt of a request is never refused. percent = 100 means no limit
// (every request in flight may be failing over at once, which is stock's
// behaviour), whatever the floor; percent = 0 leaves only the floor, and floor = 0
// with it, no failover at all.
//
// Worked example, percent 20 and floor 3: with 10 requests in flight the limit is
// max(3, 2) = 3, so a 4th concurrent failover is refused; with 40 in flight it is
// 8. A request counts in `in_flight` from its first pick to its end, and in
// `retries_in_flight` from its first admitted failover to its end: a request on
// its second or third failover still holds one count there, as in Envoy, where
// only the attempt running is in flight.
//
// Process safety: the counters live in the balancer's slot of the shared segment
// (BalancerCounters), so the limit holds across every child. Admission is a
// compare-and-swap loop on retries_in_flight: it never lets one more through than
// the limit it read, and a refused request never raises the count that another
// one reads. No lock is taken. The limit itself moves with in_flight, which other
// requests change as they come and go; it is read once per admission.
//
// A child killed mid-request never gives its counts back. So each function takes
// the process's ledger entry for the balancer (SharedState::budget_held; nullptr
// when the process has no ledger row) and records there the counts it holds,
// which the parent gives back when the process dies (shared_state.hpp). Shared
// count first, then the ledger when raising; the ledger first when lowering.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "core/shm/shared_state.hpp"

namespace isb {

// retrybudget=100: no limit.
inline constexpr std::int64_t kUnlimitedRetryBudget = 100;

// The most failovers that may be in flight with `in_flight` requests in flight.
constexpr std::int64_t retry_limit(std::int64_t percent, std::int64_t floor,
                                   std::int64_t in_flight) noexcept {
  return std::max(floor, percent * std::max<std::int64_t>(in_flight, 0) / 100);
}

// A request's first attempt: it is in flight until budget_leave().
inline void budget_enter(BalancerCounters& c, BudgetHeld* held = nullptr) noexcept {
  c.in_flight.fetch_add(1, std::memory_order_relaxed);
  if (held) held->in_flight.fetch_add(1, std::memory_order_relaxed);
}

// A failover of a request that holds no failover count yet (its first): takes
// one if the budget allows and says whether it did. Counts the failover in
// `retries` or the refusal in `retries_refused`.
inline bool admit_failover(BalancerCounters& c, BudgetHeld* held = nullptr) noexcept {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const std::int64_t percent = c.retry_budget_percent.load(kRelaxed);
  if (percent >= kUnlimitedRetryBudget) {
    // Counted all the same, for the manager's figures.
    c.retries_in_flight.fetch_add(1, kRelaxed);
    if (held) held->retries_in_flight.fetch_add(1, kRelaxed);
    c.retries.fetch_add(1, kRelaxed);
    return true;
  }
  const std::int64_t limit =
      retry_limit(percent, c.retry_budget_floor.load(kRelaxed), c.in_flight.load(kRelaxed));
  std::int64_t now = c.retries_in_flight.load(kRelaxed);
  do {
    if (now >= limit) {
      c.retries_refused.fetch_add(1, kRelaxed);
      return false;
    }
  } while (!c.retries_in_flight.compare_exchange_weak(now, now + 1, kRelaxed));
  if (held) held->retries_in_flight.fetch_add(1, kRelaxed);
  c.retries.fetch_add(1, kRelaxed);
  return true;
}

// A further failover of a request that already holds a failover count (its
// second, third...): it keeps that count while the failovers in flight, its own
// included, are still within the limit; else it gives the count back and is
// refused. It never raises the count, so it cannot push others over.
inline bool admit_another_failover(BalancerCounters& c, BudgetHeld* held = nullptr) noexcept {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const std::int64_t percent = c.retry_budget_percent.load(kRelaxed);
  if (percent < kUnlimitedRetryBudget &&
      c.retries_in_flight.load(kRelaxed) >
          retry_limit(percent, c.retry_budget_floor.load(kRelaxed), c.in_flight.load(kRelaxed))) {
    if (held) held->retries_in_flight.fetch_sub(1, kRelaxed);
    c.retries_in_flight.fetch_sub(1, kRelaxed);
    c.retries_refused.fetch_add(1, kRelaxed);
    return false;
  }
  c.retries.fetch_add(1, kRelaxed);
  return true;
}

// The request ends; `retrying`: it still holds a failover count. The failover
// count goes first, so that a reader never sees more failovers than requests in
// flight because of this request.
inline void budget_leave(BalancerCounters& c, bool retrying, BudgetHeld* held = nullptr) noexcept {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  if (retrying) {
    if (held) held->retries_in_flight.fetch_sub(1, kRelaxed);
    c.retries_in_flight.fetch_sub(1, kRelaxed);
  }
  if (held) held->in_flight.fetch_sub(1, kRelaxed);
  c.in_flight.fetch_sub(1, kRelaxed);
}

}  // namespace isb

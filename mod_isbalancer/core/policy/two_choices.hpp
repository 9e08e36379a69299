// "The power of two random choices", shared by leastrequest and bylatency: draw
// two different candidates at random, each with probability proportional to its
// weight, and take the one that costs less (the first drawn on a tie, so idle
// members share the traffic by weight). Comparing two is enough to steer clear of
// a loaded member, and because every picker draws its own pair, many children
// picking at the same instant spread out instead of all piling onto the one
// member that looked best a moment ago (which a full scan for the minimum does).
//
// The draws: with total weight W, the first ticket t1 = r1 mod W falls on the
// candidate whose cumulative weight range holds it; the second, t2 = r2 mod
// (W - weight of the first), is drawn the same way with the first left out.
// The random numbers come from next_random() in a pick, and from the caller in
// tests, so that a worked sequence can be asserted exactly.
#pragma once

#include <cstdint>
#include <span>

#include "core/policy/selector.hpp"

namespace isb {

// The calling thread's next random number (splitmix64, seeded from the OS once;
// seed_selector_random() replays it).
std::uint64_t next_random() noexcept;

inline std::uint64_t weight_of(const Candidate& c) noexcept {
  return c.weight > 0 ? static_cast<std::uint64_t>(c.weight) : 1;
}

inline std::int64_t busy_of(const Candidate& c) noexcept {
  const std::int64_t busy = c.counters->busy.load(std::memory_order_relaxed);
  return busy > 0 ? busy : 0;
}

// The candidate that ticket `r` mod `total` falls on, never `skip`.
inline std::size_t draw(std::span<const Candidate> candidates, std::uint64_t total, std::uint64_t r,
                        std::size_t skip) noexcept {
  std::uint64_t ticket = r % total;
  std::size_t last = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i == skip) continue;
    last = i;
    const std::uint64_t w = weight_of(candidates[i]);
    if (ticket < w) return i;
    ticket -= w;
  }
  return last;
}

// The cheaper of the two candidates random numbers r1 and r2 draw.
template <typename Cost>
std::size_t two_choices(std::span<const Candidate> candidates, Cost cost, std::uint64_t r1,
                        std::uint64_t r2) noexcept {
  if (candidates.size() == 1) return 0;
  std::uint64_t total = 0;
  for (const Candidate& c : candidates) total += weight_of(c);
  const std::size_t a = draw(candidates, total, r1, candidates.size());
  const std::size_t b = draw(candidates, total - weight_of(candidates[a]), r2, a);
  return cost(candidates[b]) < cost(candidates[a]) ? b : a;
}

// The cost functions, one per method (selector_leastrequest.cpp, selector_bylatency.cpp).
double leastrequest_cost(const Candidate& c) noexcept;
double bylatency_cost(const Candidate& c, std::int64_t now_us) noexcept;

}  // namespace isb

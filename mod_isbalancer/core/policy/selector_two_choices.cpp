// Two selectors that none of the Apache lbmethods offers, both "the power of two
// random choices": draw two different candidates at random, each with probability
// proportional to its weight, and take the one that looks less loaded. Comparing
// two is enough to steer clear of a loaded member, and because every picker draws
// its own pair, many children picking at the same instant spread out instead of
// all piling onto the one member that looked best a moment ago (which is what a
// full scan for the minimum does under load).
//
// leastrequest: the less busy of the two per unit of weight,
//
//   cost[i] = busy[i] / weight[i]          busy = requests in flight, all children
//
// bylatency: the one expected to answer sooner, by a peak-sensitive latency
// estimate (latency_estimate_us(): it jumps to a slow answer at once, decays while a
// member gets no answers, so a shunned member is tried again now and then) times
// the work already queued there,
//
//   cost[i] = estimate[i] * (busy[i] + 1) / weight[i]
//
// A member with no estimate yet (new, or never used) costs 0 and is tried first.
// On equal costs the first drawn wins, so idle members share the traffic by weight.
//
// Worked example (bylatency), weights equal, a and b answer in 1 ms, c in 21 ms,
// nothing in flight: any pair with c in it costs c 21000 against 1000, so c is not
// chosen; 1.1 s (4.4 half-lives) after its last answer c's estimate has decayed
// below 1000 and the next pair that draws c sends it one request, whose answer puts
// the estimate back to 21000. At 300 requests/s that is about one in 330.
#include <chrono>
#include <random>

#include "core/base/immortal.hpp"
#include "core/policy/selector.hpp"

namespace isb {
namespace {

// splitmix64: one 64-bit state per thread, seeded from the OS once. Plenty for
// spreading picks, and no lock or shared cache line between pickers.
std::uint64_t initial_seed() noexcept {
  std::uint64_t seed =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  try {
    std::random_device device;
    seed ^= (static_cast<std::uint64_t>(device()) << 32) ^ device();
  } catch (...) {
    // No entropy source: the clock and the thread's own address still differ.
  }
  return seed;
}

thread_local std::uint64_t t_random_state = 0;

std::uint64_t next_random() noexcept {
  if (t_random_state == 0) {
    t_random_state = initial_seed() ^ reinterpret_cast<std::uintptr_t>(&t_random_state);
  }
  std::uint64_t z = (t_random_state += 0x9E37'79B9'7F4A'7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
  return z ^ (z >> 31);
}

std::uint64_t weight_of(const Candidate& c) noexcept {
  return c.weight > 0 ? static_cast<std::uint64_t>(c.weight) : 1;
}

// A candidate drawn with probability weight / total, never `skip`.
std::size_t draw(std::span<const Candidate> candidates, std::uint64_t total,
                 std::size_t skip) noexcept {
  std::uint64_t ticket = next_random() % total;
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

// The cheaper of two weighted random candidates; the first drawn on a tie.
template <typename Cost>
std::size_t two_choices(std::span<const Candidate> candidates, Cost cost) noexcept {
  if (candidates.size() == 1) return 0;
  std::uint64_t total = 0;
  for (const Candidate& c : candidates) total += weight_of(c);
  const std::size_t a = draw(candidates, total, candidates.size());
  const std::size_t b = draw(candidates, total - weight_of(candidates[a]), a);
  return cost(candidates[b]) < cost(candidates[a]) ? b : a;
}

std::int64_t busy_of(const Candidate& c) noexcept {
  const std::int64_t busy = c.counters->busy.load(std::memory_order_relaxed);
  return busy > 0 ? busy : 0;
}

class LeastRequest final : public Selector {
 public:
  std::size_t pick(std::span<const Candidate> candidates,
                   std::int64_t /*now_us*/) const noexcept override {
    return two_choices(candidates, [](const Candidate& c) {
      return static_cast<double>(busy_of(c)) / static_cast<double>(weight_of(c));
    });
  }
};

class ByLatency final : public Selector {
 public:
  std::size_t pick(std::span<const Candidate> candidates,
                   std::int64_t now_us) const noexcept override {
    return two_choices(candidates, [now_us](const Candidate& c) {
      return static_cast<double>(latency_estimate_us(*c.counters, now_us)) *
             static_cast<double>(busy_of(c) + 1) / static_cast<double>(weight_of(c));
    });
  }
};

}  // namespace

void seed_selector_random(std::uint64_t seed) noexcept {
  t_random_state = seed != 0 ? seed : 1;
}

const Selector& leastrequest_selector() noexcept {
  return immortal<const LeastRequest>();
}

const Selector& bylatency_selector() noexcept {
  return immortal<const ByLatency>();
}

}  // namespace isb

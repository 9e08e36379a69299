// bylatency: of two weighted random candidates (two_choices.hpp), the one
// expected to answer sooner, by a peak-sensitive latency estimate
// (latency_estimate_us(): it jumps to a slow answer at once, decays while a
// member gets no answers, so a shunned member is tried again now and then)
// times the work already queued there:
//
//   cost[i] = estimate[i] * (busy[i] + 1) / weight[i]
//
// A member with no estimate yet (new, or never used) costs 0 and is tried first.
//
// Worked sequence, weights equal (W = 300; a: 0-99, b: 100-199, c: 200-299), a
// and b answer in 1 ms, c in 21 ms, nothing in flight:
//   r1=250 -> c; r2=50  -> a   c 21000 vs a 1000 -> a
//   r1=120 -> b; r2=150 -> c   b 1000 vs c 21000 -> b
//   r1=10  -> a; r2=120 -> c   a 1000 vs c 21000 -> a
// and with 2 requests in flight on a, b (3000) loses to nothing but c: a pair
// (a, b) gives b. Over time: 1.1 s (4.4 half-lives) after c's last answer its
// estimate has decayed below 1000, and the next pair that draws c sends it one
// request, whose answer puts the estimate back to 21000; at 300 requests/s that
// is about one in 330. tests/unit/policy/test_selectors.cpp asserts the sequence.
#include "core/base/immortal.hpp"
#include "core/policy/two_choices.hpp"

namespace isb {

double bylatency_cost(const Candidate& c, std::int64_t now_us) noexcept {
  return static_cast<double>(latency_estimate_us(*c.counters, now_us)) *
         static_cast<double>(busy_of(c) + 1) / static_cast<double>(weight_of(c));
}

namespace {

class ByLatency final : public Selector {
 public:
  std::size_t pick(std::span<const Candidate> candidates,
                   const PickContext& ctx) const noexcept override {
    if (candidates.size() == 1) return 0;
    const std::uint64_t r1 = next_random();
    const std::uint64_t r2 = next_random();
    const std::int64_t now = ctx.now_us;
    return two_choices(
        candidates, [now](const Candidate& c) { return bylatency_cost(c, now); }, r1, r2);
  }
};

}  // namespace

const Selector& bylatency_selector() noexcept {
  return immortal<const ByLatency>();
}

}  // namespace isb

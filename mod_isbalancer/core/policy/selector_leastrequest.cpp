// leastrequest: of two weighted random candidates (two_choices.hpp), the one
// with fewer requests in flight, across all children, per unit of weight:
//
//   cost[i] = busy[i] / weight[i]
//
// A member that holds its requests longer is drawn as often but loses the
// comparison, so it gets fewer.
//
// Worked sequence, weights a=100 b=100 c=200 (W = 400), busy a=3 b=1 c=4, so
// costs a=0.03 b=0.01 c=0.02; tickets t1 = r1 mod 400 (a: 0-99, b: 100-199,
// c: 200-399), t2 = r2 mod (400 - weight of the first), the first left out:
//   r1=50  -> a; r2=150 -> c (of b, c: 0-99, 100-299)  a 0.03 vs c 0.02 -> c
//   r1=120 -> b; r2=20  -> a (of a, c)                  b 0.01 vs a 0.03 -> b
//   r1=300 -> c; r2=10  -> a (of a, b: 0-99, 100-199)   c 0.02 vs a 0.03 -> c
//   r1=210 -> c; r2=150 -> b                            c 0.02 vs b 0.01 -> b
// giving c b c b; tests/unit/policy/test_selectors.cpp asserts exactly this.
#include "core/base/immortal.hpp"
#include "core/policy/two_choices.hpp"

namespace isb {

double leastrequest_cost(const Candidate& c) noexcept {
  return static_cast<double>(busy_of(c)) / static_cast<double>(weight_of(c));
}

namespace {

class LeastRequest final : public Selector {
 public:
  std::size_t pick(std::span<const Candidate> candidates,
                   const PickContext& /*ctx*/) const noexcept override {
    if (candidates.size() == 1) return 0;
    const std::uint64_t r1 = next_random();
    const std::uint64_t r2 = next_random();
    return two_choices(candidates, &leastrequest_cost, r1, r2);
  }
};

}  // namespace

const Selector& leastrequest_selector() noexcept {
  return immortal<const LeastRequest>();
}

}  // namespace isb

// bytraffic: the candidate that has moved the fewest bytes per unit of weight wins
// (first one on a tie), as stock mod_lbmethod_bytraffic does:
//
//   score[i] = traffic[i] / weight[i]      (traffic = bytes sent + bytes received)
//
// Worked sequence, weights a=100 b=200, traffic a=1000 b=1000: scores 10 and 5, so
// b; after b moves another 1000 bytes its score is 10, a tie, so a.
#include <limits>

#include "core/base/immortal.hpp"
#include "core/policy/selector.hpp"

namespace isb {
namespace {

class ByTraffic final : public Selector {
 public:
  std::size_t pick(std::span<const Candidate> candidates,
                   const PickContext& /*ctx*/) const noexcept override {
    std::size_t best = 0;
    std::uint64_t best_score = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& c = candidates[i];
      std::uint64_t weight = c.weight > 0 ? static_cast<std::uint64_t>(c.weight) : 1;
      std::uint64_t score = c.traffic / weight;
      if (score < best_score) {
        best_score = score;
        best = i;
      }
    }
    return best;
  }
};

}  // namespace

const Selector& bytraffic_selector() noexcept {
  return immortal<const ByTraffic>();
}

}  // namespace isb

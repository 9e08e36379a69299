// bybusyness: the candidate with the fewest requests in flight (across all
// children) wins; among equally busy candidates, smooth weighted round robin
// (see selector_byrequests.cpp) breaks the tie, as stock mod_lbmethod_bybusyness
// does.
//
// Worked sequence, weights a=b=100, no request completing (busy shown before):
//   1: busy (0,0), credit after earning (100,100): tie -> first -> a, credit (-100,100)
//   2: busy (1,0): b is idler -> b, credit (0,0)
//   3: busy (1,1), credit (100,100): tie -> first -> a
// so idle members are always preferred and equally busy ones take turns by weight.
//
// Slow start (health/slow_start.hpp) must hold back a member that just came back
// even though it is the idlest, so while it ramps its load counts as
//   (busy + 1) * configured weight / effective weight
// against the others' busy + 1: at 10 % of its weight, an idle member ranks with
// one that has 9 requests in flight. Without a ramping member this orders
// exactly as stock does.
#include <limits>

#include "core/base/immortal.hpp"
#include "core/policy/selector.hpp"

namespace isb {
namespace {

class ByBusyness final : public Selector {
 public:
  std::size_t pick(std::span<const Candidate> candidates,
                   const PickContext& /*ctx*/) const noexcept override {
    std::int64_t total = 0;
    std::size_t best = 0;
    double best_load = std::numeric_limits<double>::max();
    std::int64_t best_status = std::numeric_limits<std::int64_t>::min();
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& c = candidates[i];
      std::int64_t status =
          c.counters->lbstatus.fetch_add(c.weight, std::memory_order_relaxed) + c.weight;
      const std::int64_t busy = c.counters->busy.load(std::memory_order_relaxed);
      double load = static_cast<double>(busy + 1);
      if (c.ramping_from > 0) {
        load = load * static_cast<double>(c.ramping_from) / static_cast<double>(c.weight);
      }
      total += c.weight;
      if (load < best_load || (load == best_load && status > best_status)) {
        best = i;
        best_load = load;
        best_status = status;
      }
    }
    candidates[best].counters->lbstatus.fetch_sub(total, std::memory_order_relaxed);
    return best;
  }
};

}  // namespace

const Selector& bybusyness_selector() noexcept {
  return immortal<const ByBusyness>();
}

}  // namespace isb

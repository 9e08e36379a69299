// byrequests: smooth weighted round robin (the nginx / stock mod_lbmethod_byrequests
// algorithm).
//
// Each pick, every candidate earns its weight:   lbstatus[i] += weight[i]
// the candidate with the largest lbstatus wins (first one on a tie), and pays the
// total weight handed out:                        lbstatus[best] -= sum(weight)
// The sum of all lbstatus never changes, so each member's share converges to
// weight / sum(weight), and picks are spread out rather than bunched.
//
// Worked sequence, weights a=5 b=1 c=1 (sum 7), lbstatus before -> after:
//   1: ( 0, 0, 0) +w ( 5, 1, 1) -> a  ( -2, 1, 1)
//   2: (-2, 1, 1) +w ( 3, 2, 2) -> a  ( -4, 2, 2)
//   3: (-4, 2, 2) +w ( 1, 3, 3) -> b  (  1,-4, 3)
//   4: ( 1,-4, 3) +w ( 6,-3, 4) -> a  ( -1,-3, 4)
//   5: (-1,-3, 4) +w ( 4,-2, 5) -> c  (  4,-2,-2)
//   6: ( 4,-2,-2) +w ( 9,-1,-1) -> a  (  2,-1,-1)
//   7: ( 2,-1,-1) +w ( 7, 0, 0) -> a  (  0, 0, 0)
// giving a a b a c a a; tests/unit/policy/test_selectors.cpp asserts exactly this.
//
// Across processes: stock does these read-modify-writes under a per-process mutex,
// so two children race and credit is lost. Here every update is one atomic
// fetch_add, so the conserved sum holds exactly whatever interleaves; concurrent
// pickers may see each other's partial credit, which only perturbs the order.
#include <limits>

#include "core/base/immortal.hpp"
#include "core/policy/selector.hpp"

namespace isb {
namespace {

class ByRequests final : public Selector {
 public:
  std::size_t pick(std::span<const Candidate> candidates,
                   const PickContext& /*ctx*/) const noexcept override {
    std::int64_t total = 0;
    std::int64_t best_status = std::numeric_limits<std::int64_t>::min();
    std::size_t best = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& c = candidates[i];
      std::int64_t status =
          c.counters->lbstatus.fetch_add(c.weight, std::memory_order_relaxed) + c.weight;
      total += c.weight;
      if (status > best_status) {
        best_status = status;
        best = i;
      }
    }
    candidates[best].counters->lbstatus.fetch_sub(total, std::memory_order_relaxed);
    return best;
  }
};

}  // namespace

const Selector& byrequests_selector() noexcept {
  return immortal<const ByRequests>();
}

}  // namespace isb

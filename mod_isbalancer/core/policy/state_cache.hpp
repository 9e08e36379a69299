// A balancer's selector state in one process (Selector::build_state), built again
// whenever the selector or the balancer's member version changes. The member
// version moves on every change of the member set and of a member's weight or
// route (manager/apply.hpp), so the state always describes the members as they are.
//
// Concurrency contract: get() is called by every request thread. Its fast path
// is one acquire load and two comparisons. A rebuild happens under the cache's
// mutex and publishes a new entry; the entries it replaces stay alive until the
// cache is destroyed (the end of the configuration generation), because a
// request on another thread may still be reading one. Rebuilds follow operator
// edits, so they are few.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/policy/selector.hpp"

namespace isb {

class SelectorStateCache {
 public:
  // The state of `selector` for member version `version`; `members()` returns
  // every member of the balancer (std::span<const Candidate>) when one must be
  // built. Contract: selector.stateful().
  template <class Members>
  const SelectorState* get(const Selector& selector, std::uint64_t version, Members&& members) {
    const Entry* e = current_.load(std::memory_order_acquire);
    if (e != nullptr && e->selector == &selector && e->version == version) return e->state.get();
    return rebuild(selector, version, std::span<const Candidate>(members()));
  }

  // How many times a state was built (for tests).
  std::size_t builds() const noexcept { return builds_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    const Selector* selector;
    std::uint64_t version;
    std::unique_ptr<const SelectorState> state;
  };

  const SelectorState* rebuild(const Selector& selector, std::uint64_t version,
                               std::span<const Candidate> members) {
    std::lock_guard<std::mutex> hold(mutex_);
    const Entry* e = current_.load(std::memory_order_acquire);
    if (e != nullptr && e->selector == &selector && e->version == version) return e->state.get();
    auto fresh = std::make_unique<Entry>(Entry{&selector, version, selector.build_state(members)});
    const Entry* published = fresh.get();
    entries_.push_back(std::move(fresh));
    builds_.fetch_add(1, std::memory_order_relaxed);
    current_.store(published, std::memory_order_release);
    return published->state.get();
  }

  std::atomic<const Entry*> current_{nullptr};
  std::mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;  // every entry published; see above
  std::atomic<std::size_t> builds_{0};
};

}  // namespace isb

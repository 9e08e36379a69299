// The edit lock of one balancer: serialises edits across every thread of every
// child, and the parent's closing of a generation against them.
//
// Contract: an edit takes the lock, checks that its balancer is not closed
// (BalancerCounters::closed), applies the change, saves the state file, and only
// then releases the lock and answers. The parent, when a generation ends (graceful
// or full restart), takes each balancer's lock, marks it closed and collects the
// edits to carry; so every edit acknowledged with 200 is among them, and an edit
// that comes later in an old child is refused (503) instead of being lost.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <thread>

#include "core/shm/shared_state.hpp"

namespace isb {

// Serialises edits of one balancer across every thread of every child. The owner's
// PID is kept so that a child killed mid-edit does not block edits for ever.
class EditLock {
 public:
  explicit EditLock(BalancerCounters& c) : owner_(c.edit_owner) {}
  EditLock(const EditLock&) = delete;
  EditLock& operator=(const EditLock&) = delete;
  ~EditLock() {
    if (held_) owner_.store(0, std::memory_order_release);
  }

  // Waits up to `wait` for the lock, looking every millisecond. Taken over from
  // an owner that no longer exists.
  bool acquire(std::chrono::microseconds wait) {
    const auto me = static_cast<std::int32_t>(::getpid());
    const auto deadline = std::chrono::steady_clock::now() + wait;
    do {
      std::int32_t seen = 0;
      if (owner_.compare_exchange_strong(seen, me, std::memory_order_acq_rel)) {
        held_ = true;
        return true;
      }
      if (seen != me && ::kill(seen, 0) != 0 && errno == ESRCH &&
          owner_.compare_exchange_strong(seen, me, std::memory_order_acq_rel)) {
        held_ = true;  // its owner died mid-edit
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

 private:
  std::atomic<std::int32_t>& owner_;
  bool held_ = false;
};

}  // namespace isb

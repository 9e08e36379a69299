// The core's MemberTable over one proxy_balancer: reads each member's
// proxy_worker_shared (which lives in our shared segment, so mod_proxy's own
// updates — connect failure -> E, bytes moved — are seen by every child) and its
// MemberCounters beside it.
#pragma once

#include <atomic>
#include <cstring>
#include <string_view>

#include "core/member/limits.hpp"
#include "core/member/member_table.hpp"
#include "core/member/status.hpp"
#include "core/shm/shared_state.hpp"
#include "httpd_includes.hpp"

namespace isb::httpd {

static_assert(kInitialized == PROXY_WORKER_INITIALIZED &&
                  kIgnoreErrors == PROXY_WORKER_IGNORE_ERRORS && kDrain == PROXY_WORKER_DRAIN &&
                  kInShutdown == PROXY_WORKER_IN_SHUTDOWN && kDisabled == PROXY_WORKER_DISABLED &&
                  kStopped == PROXY_WORKER_STOPPED && kInError == PROXY_WORKER_IN_ERROR &&
                  kHotStandby == PROXY_WORKER_HOT_STANDBY && kHcFail == PROXY_WORKER_HC_FAIL &&
                  kHotSpare == PROXY_WORKER_HOT_SPARE &&
                  kNotUsable == PROXY_WORKER_NOT_USABLE_BITMAP,
              "core status bits must equal mod_proxy's");
static_assert(sizeof(proxy_worker_shared::route) == kMaxRouteChars + 1 &&
                  sizeof(proxy_worker_shared::redirect) == kMaxRouteChars + 1 &&
                  sizeof(proxy_balancer_shared::sticky) == kMaxStickyChars + 1 &&
                  sizeof(proxy_worker_shared::name_ex) > kMaxMemberUrlChars &&
                  sizeof(proxy_worker_shared::hcuri) == kMaxHcUriChars + 1 &&
                  sizeof(proxy_worker_shared::hcexpr) == kMaxHcExprChars + 1,
              "core/member/limits.hpp must match mod_proxy's field sizes");

// A bounded view of a fixed-size char field.
template <std::size_t N>
std::string_view field(const char (&s)[N]) noexcept {
  return std::string_view(s, strnlen(s, N));
}

inline std::atomic_ref<unsigned int> status_ref(proxy_worker_shared* s) noexcept {
  return std::atomic_ref<unsigned int>(s->status);
}

// The list of members a request should use right now. The list is replaced, never
// changed in place, when members are added or removed (members.hpp), so it is
// loaded once and used as a whole.
inline apr_array_header_t* current_workers(const proxy_balancer* b) noexcept {
  return std::atomic_ref<apr_array_header_t*>(const_cast<proxy_balancer*>(b)->workers)
      .load(std::memory_order_acquire);
}

class WorkerTable {
 public:
  WorkerTable(const proxy_balancer* b, const SharedState& state) noexcept
      : WorkerTable(current_workers(b), state) {}
  WorkerTable(const apr_array_header_t* list, const SharedState& state) noexcept
      : workers_(reinterpret_cast<proxy_worker**>(list->elts)),
        size_(static_cast<std::size_t>(list->nelts)),
        state_(state) {}

  std::size_t size() const noexcept { return size_; }
  proxy_worker* worker(std::size_t i) const noexcept { return workers_[i]; }

  std::uint32_t status(std::size_t i) const noexcept {
    return status_ref(workers_[i]->s).load(std::memory_order_relaxed);
  }
  int lbset(std::size_t i) const noexcept { return workers_[i]->s->lbset; }
  std::int64_t weight(std::size_t i) const noexcept { return workers_[i]->s->lbfactor; }
  std::string_view route(std::size_t i) const noexcept { return field(workers_[i]->s->route); }
  std::string_view redirect(std::size_t i) const noexcept {
    return field(workers_[i]->s->redirect);
  }
  std::uint64_t traffic(std::size_t i) const noexcept {
    const proxy_worker_shared* s = workers_[i]->s;
    return static_cast<std::uint64_t>(s->transferred) + static_cast<std::uint64_t>(s->read);
  }
  std::int64_t error_time(std::size_t i) const noexcept { return workers_[i]->s->error_time; }
  std::int64_t retry_interval(std::size_t i) const noexcept { return workers_[i]->s->retry; }
  MemberCounters& counters(std::size_t i) noexcept {
    return state_.member(static_cast<std::uint32_t>(workers_[i]->s->index));
  }
  bool clear_error(std::size_t i) noexcept {
    proxy_worker_shared* s = workers_[i]->s;
    const unsigned int was = status_ref(s).fetch_and(
        ~static_cast<unsigned int>(PROXY_WORKER_IN_ERROR), std::memory_order_relaxed);
    if ((was & PROXY_WORKER_IN_ERROR) == 0) return false;  // another thread did
    std::atomic_ref<int>(s->retries).fetch_add(1, std::memory_order_relaxed);
    return true;
  }

 private:
  proxy_worker** workers_;
  std::size_t size_;
  const SharedState& state_;
};

static_assert(MemberTable<WorkerTable>);

}  // namespace isb::httpd

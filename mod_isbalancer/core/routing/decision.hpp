// The routing decision for one request to a balancer: sticky route first, then
// the balancing method. This is the whole of what stock mod_proxy_balancer's
// pre_request hook decides, without its locks: every shared update is atomic.
//
//   1. forcerecovery: if every member is in error, put them all back;
//   2. a route in the URL (path name) or Cookie (cookie name) picks the member
//      with that route (or its redirect); that hit is charged to the weights.
//      Several cookies of the name (ours; stock takes the first): the first,
//      in header order, whose route finds a member that takes the session;
//   3. a route whose members are all down, with nofailover, is refused (503);
//   4. otherwise the selector picks among the eligible candidates.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/policy/selector.hpp"
#include "core/routing/eligibility.hpp"
#include "core/routing/sticky.hpp"

namespace isb {

struct BalancerPolicy {
  StickyConfig sticky;
  bool nofailover = false;    // stickysession route down -> 503 instead of rebalancing
  bool forcerecovery = true;  // all members in error -> force them back
  const Selector* selector = nullptr;
  const SelectorState* state = nullptr;  // the selector's, for this balancer (state_cache.hpp)
  const RouteIndex* routes = nullptr;    // the members' routes, when the caller keeps an index
};

struct RequestView {
  RequestView() = default;
  RequestView(std::string_view url_, std::string_view query_, std::string_view cookie_header_,
              std::int64_t now_) noexcept
      : url(url_), query(query_), cookie_header(cookie_header_), now(now_) {}

  std::string_view url;              // "balancer://name/path;params" (and "?query" with nocanon)
  std::string_view query;            // the query string without '?' (r->args); may be empty
  std::string_view cookie_header;    // empty if none
  std::int64_t now = 0;              // µs, from the caller's clock
  std::uint32_t attempt = 0;         // 0: the first try; n: the n-th failover of this request
  std::optional<std::uint64_t> key;  // the request's hash key, for methods that map keys
};

enum class Outcome {
  kSticky,      // the session's own member (or its redirect)
  kBalanced,    // chosen by the selector
  kRouteDown,   // nofailover and the session's members are all unusable: 503
  kNoneUsable,  // no member can take the request: 503 (caller may wait and retry)
};

struct Decision {
  Outcome outcome = Outcome::kNoneUsable;
  std::size_t member = kNoMember;
  std::optional<SessionRoute> session;  // the route the client sent, if any
  bool route_changed = false;           // BALANCER_ROUTE_CHANGED
  bool forced_recovery = false;
};

// Step 4 alone: the selector's pick among the eligible candidates. Used again by
// callers that wait for a member to come back (the balancer `timeout`).
template <MemberTable T>
Decision balance(T& t, const BalancerPolicy& policy, const RequestView& req,
                 std::span<Candidate> scratch, Decision d = {}) noexcept {
  std::size_t n = collect_candidates(t, req.now, scratch);
  // Ejection never leaves a balancer without a member by itself: if it took
  // every candidate away, it is ignored for this pick.
  if (n == 0) n = collect_candidates(t, req.now, scratch, true);
  if (n == 0) {
    d.outcome = Outcome::kNoneUsable;
    d.member = kNoMember;
    return d;
  }
  std::size_t pos = policy.selector->pick(scratch.first(n),
                                          PickContext{req.now, req.key, req.attempt, policy.state});
  d.outcome = Outcome::kBalanced;
  d.member = scratch[pos].index;
  // Stock marks every balanced request of a sticky balancer as a route change:
  // the client either had no route or its route could not be served.
  d.route_changed = !policy.sticky.cookie_name.empty();
  t.counters(d.member).elected.fetch_add(1, std::memory_order_relaxed);
  return d;
}

// The balancer `timeout`: when `d` found no usable member, wait up to `timeout_us`
// for one to come back, looking again after each of 100 equal steps (at least
// 1 µs each). `sleep(us)` waits; `clock()` returns the time in µs, which becomes
// req.now. Nothing shared is written while waiting (stock set the balancer's
// shared timeout to 0 as a recursion guard). Returns `d` unchanged when there is
// nothing to wait for: a member was found, no timeout, or no members at all.
template <MemberTable T, class Sleep, class Clock>
Decision wait_for_member(T& t, const BalancerPolicy& policy, RequestView& req,
                         std::span<Candidate> scratch, Decision d, std::int64_t timeout_us,
                         Sleep&& sleep, Clock&& clock) noexcept {
  if (d.outcome != Outcome::kNoneUsable || timeout_us <= 0 || t.size() == 0) return d;
  const std::int64_t step = std::max<std::int64_t>(timeout_us / 100, 1);
  for (std::int64_t waited = 0; waited < timeout_us; waited += step) {
    sleep(step);
    req.now = clock();
    d = balance(t, policy, req, scratch, std::move(d));
    if (d.outcome == Outcome::kBalanced) break;
  }
  return d;
}

// The cookies of the sticky name after the first, from offset `pos` of the
// Cookie header, when the first one's route (`first`, empty if it had none)
// found no member that takes the session: a browser holds one per path, or a
// stale one from a member that is gone. Returns the first, in header order,
// whose route finds one (the same lookup as the first's: retry due, redirect,
// ejection and its keep rules) and sets `member`; nothing when none does. Looks
// at kMaxSessionCookies cookies of the name in all, the first included, and
// tries each route once.
template <MemberTable T>
std::optional<SessionRoute> later_cookie_route(T& t, const BalancerPolicy& policy,
                                               const RequestView& req, std::size_t pos,
                                               std::string_view first,
                                               std::size_t& member) noexcept {
  std::array<std::string_view, kMaxSessionCookies> tried;
  std::size_t n = 0;
  if (!first.empty()) tried[n++] = first;
  for (std::size_t k = 1; k < kMaxSessionCookies; ++k) {
    const auto value = next_cookie(req.cookie_header, policy.sticky.cookie_name, pos);
    if (!value) break;
    const auto route = route_of(*value, policy.sticky.separator);
    if (!route || std::find(tried.begin(), tried.begin() + n, *route) != tried.begin() + n) {
      continue;
    }
    tried[n++] = *route;
    member = find_route_member(t, *route, req.now, policy.routes, policy.nofailover);
    if (member != kNoMember) return SessionRoute{*route, policy.sticky.cookie_name};
  }
  return std::nullopt;
}

// Contract: `scratch` has room for t.size() entries; policy.selector is set.
template <MemberTable T>
Decision decide(T& t, const BalancerPolicy& policy, const RequestView& req,
                std::span<Candidate> scratch) noexcept {
  Decision d;
  d.forced_recovery = force_recovery_if_all_failed(t, req.now, policy.forcerecovery);
  std::size_t more_cookies = std::string_view::npos;  // set when the Cookie header has one
  d.session =
      find_session_route(policy.sticky, req.url, req.query, req.cookie_header, &more_cookies);
  // With nofailover the session stays on an ejected member: the alternative
  // is a certain 503.
  std::size_t m =
      d.session ? find_route_member(t, d.session->route, req.now, policy.routes, policy.nofailover)
                : kNoMember;
  if (m == kNoMember && more_cookies != std::string_view::npos) {
    // Several cookies of the name: a later one may name a member that takes
    // the session. When none does, the first decides, as in stock.
    if (auto later = later_cookie_route(t, policy, req, more_cookies,
                                        d.session ? d.session->route : std::string_view{}, m)) {
      d.session = later;
    }
  }
  if (m != kNoMember) {
    d.outcome = Outcome::kSticky;
    d.member = m;
    d.route_changed = t.route(m) != d.session->route;
    charge_sticky(t, t.counters(m));
    t.counters(m).elected.fetch_add(1, std::memory_order_relaxed);
    t.counters(m).sticky.fetch_add(1, std::memory_order_relaxed);
    return d;
  }
  if (d.session && policy.nofailover && has_route(t, d.session->route)) {
    d.outcome = Outcome::kRouteDown;
    return d;
  }
  return balance(t, policy, req, scratch, std::move(d));
}

}  // namespace isb

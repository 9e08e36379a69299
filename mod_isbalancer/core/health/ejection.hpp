// Outlier ejection: a member whose answers keep failing is taken out of the
// rotation for a while, with a backoff that grows each time it happens again,
// instead of getting one request in N until an operator notices.
//
// Passive, from real answers, counted across all children with atomics in the
// member's policy region (shm/shared_state.hpp). Two counts, as Envoy's
// outlier_detection keeps them:
//   - consecutive 5xx: answers 500 to 599, whoever made them (the member, or
//     mod_proxy for a member that did not answer);
//   - consecutive gateway failures: 502, 503 and 504, and any timeout: the
//     member could not be reached, reset the connection or did not answer.
// Any answer below 500 clears both; any other 5xx clears the gateway count.
// Answers while the member is ejected (its sessions that stay, requests in
// flight when it was ejected) are not counted: it starts afresh when it is
// back. When a count reaches its threshold (eject5xx=, ejectgateway=; 0:
// never) the member is ejected for ejecttime × level, at most ejectmaxtime,
// where the level is one more than the last ejection's (but no higher than
// the one that reaches ejectmaxtime), less one for each ejecttime the member
// has since stayed in (Envoy: base_ejection_time × times ejected, up to
// max_ejection_time, decaying while healthy).
//
// The cap (ejectpercent=, per balancer, default 10 as Envoy's
// max_ejection_percent): an ejection goes ahead only while the members out
// after it, ejected or down for any other reason (disabled, stopped, in error,
// health check failed, draining), are at most that share of the balancer's
// members, and at least one may always be (Envoy's rule), unless it is 0: then
// none is. So a bad deploy on every node does not become a total outage.
// Ejections of one balancer are decided one at a time (a lock word in its
// policy region, taken by compare-and-swap and taken over after a second if
// its holder died); a process that finds it taken leaves the decision to the
// next failure.
//
// What an ejection does is in routing/eligibility.hpp: an ejected member
// takes no new sessions; its sessions fail over (ejectsessions=0, the default,
// as stock does for a member in error) or stay (1); with nofailover=On they
// stay, since the alternative is a certain 503. If ejection leaves a balancer
// no candidate, it is ignored for that pick. When the ejection ends the member
// is back in service and slow-starts (health/slow_start.hpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include "core/health/slow_start.hpp"
#include "core/member/member_table.hpp"
#include "core/member/status.hpp"
#include "core/shm/shared_state.hpp"

namespace isb {

// What one answer says about the member that gave it.
enum class Answer : std::uint8_t {
  kGood,     // below 500
  k5xx,      // 500 to 599 but not a gateway failure
  kGateway,  // 502, 503, 504, or a timeout: no good answer from the member
};

constexpr Answer classify_answer(int status, bool timed_out) noexcept {
  if (timed_out || status == 502 || status == 503 || status == 504) return Answer::kGateway;
  if (status >= 500 && status <= 599) return Answer::k5xx;
  return Answer::kGood;
}

// Whether the member is ejected at `now_us`. One relaxed load: every pick
// asks it of every member it considers.
inline bool is_ejected(const MemberCounters& c, std::int64_t now_us) noexcept {
  return c.ejected_until_us.load(std::memory_order_relaxed) > now_us;
}

// Whether the member, of shared status `status`, takes new sessions at `now_us`:
// nothing keeps it from them (slow_start.hpp's in_service) and it is not ejected.
// What slow start's clock follows.
inline bool serving(const MemberCounters& c, std::uint32_t status, std::int64_t now_us) noexcept {
  return in_service(status) && !is_ejected(c, now_us);
}

// Why a count reached its threshold.
enum class EjectReason : std::uint8_t { k5xx, kGateway, kFailureRate };

// Counts one answer of the member at `now_us`. Returns the reason when it
// makes a count reach its threshold (the caller then calls try_eject), else
// nothing. A good answer costs two relaxed loads, and with the failure-rate
// rule on an update of the moving share; a store only when a count was up.
// Nothing is counted while the member is ejected.
struct CountedAnswer {
  bool threshold = false;
  EjectReason reason = EjectReason::k5xx;
  std::uint64_t count = 0;    // the count that reached it (kFailureRate: the share, %)
  std::uint64_t answers = 0;  // kFailureRate: the answers it averages over
};

// The failure-rate rule: the share of 5xx among the member's recent answers, a
// moving average with weight 1/N over its answers (N = ejectminrequests, so
// about its last N answers count), judged once it has given N answers since
// the rule began counting or the member came back: at `percent` % or more, it
// ejects. An average over answers, not over time: it judges a busy member and
// a quiet one alike, and a member that was healthy for hours is caught as soon
// as its share of the last N or so answers turns, not when a whole interval's
// share does (Envoy's failure_percentage judges 10 s intervals, and a member
// that fails every second answer from the middle of one is seen only at the
// end of the next). Every child updates the one average, by compare-and-swap.
//
// A moving average only nears 100 %; a run of N 5xx (`run`, this answer's
// consecutive 5xx) is a last N answers that all failed, so it meets any
// threshold, 100 % included. Each step is rounded away from the old share, so
// that the average does reach 0 and 100 % when the answers stay so.
inline CountedAnswer count_failure_rate(MemberCounters& c, bool failed, std::int64_t percent,
                                        std::uint64_t run) noexcept {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  constexpr std::int64_t kWhole = 1'000'000;
  const std::int64_t n = std::max<std::int64_t>(c.eject_min_requests.load(kRelaxed), 1);
  const std::int64_t sample = failed ? kWhole : 0;
  std::int64_t rate = c.fail_rate_ppm.load(kRelaxed);
  std::int64_t next = 0;
  do {
    const std::int64_t gap = sample - rate;
    const std::int64_t step = (gap >= 0 ? gap + n - 1 : gap - n + 1) / n;
    next = rate + step;
  } while (!c.fail_rate_ppm.compare_exchange_weak(rate, next, kRelaxed));
  const std::uint64_t answers = c.rate_answers.fetch_add(1, kRelaxed) + 1;
  const auto least = static_cast<std::uint64_t>(n);
  if (failed && answers >= least && (next >= percent * (kWhole / 100) || run >= least)) {
    return {true, EjectReason::kFailureRate, static_cast<std::uint64_t>(next / (kWhole / 100)),
            static_cast<std::uint64_t>(n)};
  }
  return {};
}

// What reached the threshold, for the log: "4 consecutive 5xx answers", "3
// consecutive gateway failures", "a 5xx share of 41 % over its last 20 or so
// answers".
inline std::string counted_text(const CountedAnswer& a) {
  std::string out;
  if (a.reason == EjectReason::kFailureRate) out = "a 5xx share of ";
  out += std::to_string(a.count);
  switch (a.reason) {
    case EjectReason::k5xx:
      out += " consecutive 5xx answers";
      break;
    case EjectReason::kGateway:
      out += " consecutive gateway failures";
      break;
    case EjectReason::kFailureRate:
      out += " % over its last ";
      out += std::to_string(a.answers);
      out += " or so answers";
      break;
  }
  return out;
}

inline CountedAnswer count_answer(MemberCounters& c, Answer a, std::int64_t now_us) noexcept {
  CountedAnswer out;
  if (is_ejected(c, now_us)) return out;
  const std::int64_t percent = c.eject_fail_percent.load(std::memory_order_relaxed);
  if (a == Answer::kGood) {
    if (percent > 0) count_failure_rate(c, false, percent, 0);
    if (c.consecutive_5xx.load(std::memory_order_relaxed) != 0) {
      c.consecutive_5xx.store(0, std::memory_order_relaxed);
    }
    if (c.consecutive_gateway.load(std::memory_order_relaxed) != 0) {
      c.consecutive_gateway.store(0, std::memory_order_relaxed);
    }
    return out;
  }
  const std::uint64_t fives = c.consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1;
  if (percent > 0) out = count_failure_rate(c, true, percent, fives);
  std::uint64_t gateways = 0;
  if (a == Answer::kGateway) {
    gateways = c.consecutive_gateway.fetch_add(1, std::memory_order_relaxed) + 1;
  } else if (c.consecutive_gateway.load(std::memory_order_relaxed) != 0) {
    c.consecutive_gateway.store(0, std::memory_order_relaxed);
  }
  const auto gateway_limit = c.eject_gateway.load(std::memory_order_relaxed);
  const auto five_limit = c.eject_5xx.load(std::memory_order_relaxed);
  if (gateway_limit > 0 && gateways >= static_cast<std::uint64_t>(gateway_limit)) {
    return {true, EjectReason::kGateway, gateways};
  }
  if (five_limit > 0 && fives >= static_cast<std::uint64_t>(five_limit)) {
    return {true, EjectReason::k5xx, fives};
  }
  return out;  // the failure-rate rule's verdict, if it has one
}

// Every count starts again: after an ejection (or the cap keeping the member
// in), and when an operator ends one.
inline void restart_counts(MemberCounters& c) noexcept {
  c.consecutive_5xx.store(0, std::memory_order_relaxed);
  c.consecutive_gateway.store(0, std::memory_order_relaxed);
  c.rate_answers.store(0, std::memory_order_relaxed);
  c.fail_rate_ppm.store(0, std::memory_order_relaxed);
}

// The highest level: the first whose ejection lasts `max_us` (at least 1).
constexpr std::int64_t max_eject_level(std::int64_t base_us, std::int64_t max_us) noexcept {
  base_us = std::max<std::int64_t>(base_us, 1);
  return std::max<std::int64_t>(1, (std::max<std::int64_t>(max_us, 1) + base_us - 1) / base_us);
}

// The level an ejection at `now_us` takes: one more than `level`, the last
// one's, less one for each `base_us` since that ejection ended at `ended_us`,
// and no more than max_eject_level(): a member that flapped a hundred times is
// not held at the longest ejection for a hundred intervals after it recovered.
constexpr std::int64_t next_eject_level(std::int64_t level, std::int64_t ended_us,
                                        std::int64_t base_us, std::int64_t max_us,
                                        std::int64_t now_us) noexcept {
  if (base_us > 0 && now_us > ended_us) level -= (now_us - ended_us) / base_us;
  return std::min(std::max<std::int64_t>(level, 0) + 1, max_eject_level(base_us, max_us));
}

// How long an ejection of `level` lasts: base × level, at most `max_us`, even
// when that is below base (ejectmaxtime is the longest an ejection lasts).
constexpr std::int64_t eject_duration(std::int64_t level, std::int64_t base_us,
                                      std::int64_t max_us) noexcept {
  base_us = std::max<std::int64_t>(base_us, 1);
  max_us = std::max<std::int64_t>(max_us, 1);
  return level >= max_us / base_us ? max_us : std::min(base_us * level, max_us);
}

// How many of `members` members may be out for an ejection to go ahead, with
// ejectpercent `percent`: at least one, unless percent is 0.
constexpr std::size_t eject_limit(std::size_t members, std::int64_t percent) noexcept {
  if (percent <= 0 || members == 0) return 0;
  return std::max<std::size_t>(
      1, members * static_cast<std::size_t>(std::min<std::int64_t>(percent, 100)) / 100);
}

// A held lock older than this is taken over: its holder died deciding.
inline constexpr std::int64_t kEjectLockStaleUs = 1'000'000;

enum class EjectOutcome : std::uint8_t {
  kEjected,  // it is out until `until_us`
  kCapped,   // ejectpercent kept it in; its counts start again
  kBusy,     // another process is deciding an ejection in this balancer
  kAlready,  // it was ejected already
};

struct EjectResult {
  EjectOutcome outcome = EjectOutcome::kBusy;
  std::int64_t until_us = 0;  // kEjected: the end of the ejection
  std::int64_t level = 0;     // kEjected: its level (1: first in a while)
  std::size_t out = 0;        // members out before it (kEjected, kCapped)
  std::size_t limit = 0;      // eject_limit() of the balancer (kEjected, kCapped)
};

// Ejects member `i` of `t` (whose balancer's counters are `b`) if the cap
// allows, at `now_us`. Called when count_answer() reached a threshold.
template <MemberTable T>
EjectResult try_eject(T& t, std::size_t i, BalancerCounters& b, std::int64_t now_us) noexcept {
  EjectResult r;
  std::int64_t held = b.eject_lock_us.load(std::memory_order_relaxed);
  const std::int64_t mine = std::max<std::int64_t>(now_us, 1);
  if (held != 0 && now_us - held < kEjectLockStaleUs) return r;
  if (!b.eject_lock_us.compare_exchange_strong(held, mine, std::memory_order_acquire)) return r;
  MemberCounters& c = t.counters(i);
  if (is_ejected(c, now_us)) {
    // A run that reached its threshold just as another process ejected it.
    restart_counts(c);
    r.outcome = EjectOutcome::kAlready;
  } else {
    const std::size_t n = t.size();
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      if (!serving(t.counters(j), t.status(j), now_us)) ++r.out;
    }
    r.limit = eject_limit(n, b.eject_percent.load(std::memory_order_relaxed));
    // The counts start again either way: a capped member is weighed again only
    // after as many failures more, not on each.
    restart_counts(c);
    if (r.out + 1 > r.limit) {
      c.ejections_capped.fetch_add(1, std::memory_order_relaxed);
      r.outcome = EjectOutcome::kCapped;
    } else {
      const std::int64_t base = c.eject_time_us.load(std::memory_order_relaxed);
      const std::int64_t max = c.eject_max_us.load(std::memory_order_relaxed);
      r.level = next_eject_level(c.eject_level.load(std::memory_order_relaxed),
                                 c.eject_level_stamp_us.load(std::memory_order_relaxed), base, max,
                                 now_us);
      r.until_us = now_us + eject_duration(r.level, base, max);
      c.eject_level.store(r.level, std::memory_order_relaxed);
      c.eject_level_stamp_us.store(r.until_us, std::memory_order_relaxed);
      c.ejected_until_us.store(r.until_us, std::memory_order_relaxed);
      c.ejections.fetch_add(1, std::memory_order_relaxed);
      r.outcome = EjectOutcome::kEjected;
    }
  }
  b.eject_lock_us.store(0, std::memory_order_release);
  return r;
}

// Ends the member's ejection at once (an operator's doing, see
// manager/apply.hpp's ends_ejection); its runs start again. Its backoff level
// stays.
inline void end_ejection(MemberCounters& c) noexcept {
  c.ejected_until_us.store(0, std::memory_order_relaxed);
  restart_counts(c);
}

}  // namespace isb

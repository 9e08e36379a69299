// Who may take a request: error retry, lbset tiers, hot spares and hot standbys,
// drain, forced recovery, and the lookup of a sticky route.
//
// The rules are stock mod_proxy_balancer's (proxy_util.c,
// ap_proxy_balancer_get_best_worker), restated:
//   - lbsets are tried in ascending order; the first that yields a candidate wins;
//   - in an lbset, usable members that are neither spare (R) nor standby (H) are
//     candidates; a draining (N) one is skipped and counts as unusable;
//   - usable spares stand in, in order, for as many members as were unusable;
//   - only when that leaves no candidate are the usable standbys the candidates;
//   - a member in error (E) becomes usable again once its retry interval has
//     passed (never when stopped, S; at once when it ignores errors, I).
// Ours on top: an ejected member (health/ejection.hpp) counts as unusable for
// new sessions, so spares stand in for it too; and for its sessions unless it
// keeps them (ejectsessions=1) or the caller says to keep them (nofailover).
//
// Everything is a template over MemberTable, so the httpd layer reads shared
// memory directly and tests use plain structs. Nothing here allocates: callers
// pass a scratch span with room for every member.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/health/ejection.hpp"
#include "core/health/slow_start.hpp"
#include "core/member/member_table.hpp"
#include "core/member/status.hpp"
#include "core/policy/selector.hpp"
#include "core/routing/route_index.hpp"

namespace isb {

// Clears the error state of member `i` if its retry interval has passed at `now`
// (µs). Returns whether the member is usable afterwards.
template <MemberTable T>
bool recover_if_due(T& t, std::size_t i, std::int64_t now) noexcept {
  std::uint32_t st = t.status(i);
  if (is_usable(st)) return true;
  if ((st & kInError) == 0 || (st & kStopped) != 0) return false;
  if ((st & kIgnoreErrors) != 0 || now > t.error_time(i) + t.retry_interval(i)) {
    t.clear_error(i);
    return is_usable(t.status(i));
  }
  return false;
}

// forcerecovery: when every member is in error, put them all back into service
// rather than answer 503 until the first retry interval ends. Returns whether it
// had to force: whether this call cleared an error, so that of requests racing
// to do it (any threads, any children) only those that did report it.
template <MemberTable T>
bool force_recovery_if_all_failed(T& t, std::int64_t now, bool forcerecovery) noexcept {
  const std::size_t n = t.size();
  for (std::size_t i = 0; i < n; ++i) {
    if ((t.status(i) & kInError) == 0) return false;
    recover_if_due(t, i, now);
    if ((t.status(i) & kInError) == 0) return false;
  }
  if (!forcerecovery || n == 0) return false;
  bool forced = false;
  for (std::size_t i = 0; i < n; ++i) forced = t.clear_error(i) || forced;
  return forced;
}

// Member i as a candidate at `now`: its weight as slow start has it then
// (health/slow_start.hpp), and the configured one while that is lower.
template <MemberTable T>
Candidate make_candidate(T& t, std::size_t i, std::int64_t now) noexcept {
  MemberCounters& c = t.counters(i);
  const auto weight = static_cast<std::int64_t>(t.weight(i));
  const std::int64_t effective = effective_weight(c, weight, now);
  return Candidate{static_cast<std::uint32_t>(i), effective,
                   static_cast<std::uint64_t>(t.traffic(i)), &c, effective == weight ? 0 : weight};
}

// Every member as a candidate, usable or not, in table order, at its configured
// weight: what a selector builds its per-process state from. `out` must have room for t.size()
// entries.
template <MemberTable T>
std::span<const Candidate> list_members(T& t, std::span<Candidate> out) noexcept {
  const std::size_t n = t.size();
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = Candidate{static_cast<std::uint32_t>(i), static_cast<std::int64_t>(t.weight(i)),
                       static_cast<std::uint64_t>(t.traffic(i)), &t.counters(i)};
  }
  return out.first(n);
}

// Fills `out` with the candidates for a new (non-sticky) request and returns how
// many there are. `out` must have room for t.size() entries. Ejected members
// are left out unless `ejected_too` (the caller's second try when ejection left
// no candidate at all).
template <MemberTable T>
std::size_t collect_candidates(T& t, std::int64_t now, std::span<Candidate> out,
                               bool ejected_too = false) noexcept {
  const std::size_t n = t.size();
  int lbset = 0;
  int max_lbset = 0;
  for (std::size_t i = 0; i < n; ++i) max_lbset = std::max(max_lbset, static_cast<int>(t.lbset(i)));
  for (; lbset <= max_lbset; ++lbset) {
    std::size_t count = 0;
    std::size_t unusable = 0;
    bool have_reserve = false;  // a usable spare or standby in this lbset
    for (std::size_t i = 0; i < n; ++i) {
      if (t.lbset(i) != lbset) continue;
      std::uint32_t st = t.status(i);
      const bool reserve = (st & (kHotSpare | kHotStandby)) != 0;
      if ((st & kDrain) != 0) {
        note_service(t.counters(i), false, now);  // it takes no new sessions
        if (!reserve) ++unusable;
        continue;
      }
      const bool ejected = is_ejected(t.counters(i), now);
      const bool usable = recover_if_due(t, i, now) && (ejected_too || !ejected);
      note_service(t.counters(i), in_service(t.status(i)) && !ejected, now);
      if (reserve) {
        have_reserve = have_reserve || usable;
      } else if (usable) {
        out[count++] = make_candidate(t, i, now);
      } else {
        ++unusable;
      }
    }
    if (have_reserve) {
      // Spares replace unusable members one for one, in configuration order.
      for (std::size_t i = 0; i < n && unusable > 0; ++i) {
        std::uint32_t st = t.status(i);
        if (t.lbset(i) != lbset || (st & kHotSpare) == 0 || (st & kDrain) != 0 || !is_usable(st) ||
            (!ejected_too && is_ejected(t.counters(i), now))) {
          continue;
        }
        out[count++] = make_candidate(t, i, now);
        --unusable;
      }
      if (count == 0) {
        for (std::size_t i = 0; i < n; ++i) {
          std::uint32_t st = t.status(i);
          if (t.lbset(i) != lbset || (st & kHotSpare) != 0 || (st & kHotStandby) == 0 ||
              (st & kDrain) != 0 || !is_usable(st) ||
              (!ejected_too && is_ejected(t.counters(i), now))) {
            continue;
          }
          out[count++] = make_candidate(t, i, now);
        }
      }
    }
    if (count > 0) return count;
  }
  return 0;
}

// Charges a sticky hit to `chosen` the way stock does for byrequests: every
// usable member earns its weight and the chosen one pays the total, so sticky
// traffic counts towards the weighted shares.
template <MemberTable T>
void charge_sticky(T& t, MemberCounters& chosen) noexcept {
  std::int64_t total = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!is_usable(t.status(i))) continue;
    const auto w = static_cast<std::int64_t>(t.weight(i));
    t.counters(i).lbstatus.fetch_add(w, std::memory_order_relaxed);
    total += w;
  }
  chosen.lbstatus.fetch_sub(total, std::memory_order_relaxed);
}

inline constexpr std::size_t kNoMember = static_cast<std::size_t>(-1);

namespace detail {

// Routes already explored by one lookup, by the index of the first member that
// carries each (a route's id). Lookups in balancers of more members than this
// holds bits for stop after as many explorations as there are members.
struct ExploredRoutes {
  // Cleared on first use only: most lookups find their member without a redirect.
  std::array<std::uint64_t, 64> bits;  // 4096 members
  bool cleared = false;
  std::size_t budget = 0;  // explorations left: at most one per route

  bool first_visit(std::size_t id) noexcept {
    if (budget == 0) return false;
    --budget;
    if (id >= bits.size() * 64) return true;
    if (!cleared) {
      bits.fill(0);
      cleared = true;
    }
    std::uint64_t& word = bits[id / 64];
    const std::uint64_t bit = std::uint64_t{1} << (id % 64);
    if ((word & bit) != 0) return false;
    word |= bit;
    return true;
  }
};

// Where a lookup finds the members of a route. ScanRoutes reads the table;
// IndexedRoutes follows a RouteIndex and checks each step against the table,
// setting `stale` where the index no longer matches it.
template <MemberTable T>
struct ScanRoutes {
  T& t;
  bool stale = false;  // never: the table is the truth

  // The first member carrying `route` at or after `from`, or kNoMember.
  std::size_t at_or_after(std::size_t from, std::string_view route) noexcept {
    if (route.empty()) return kNoMember;  // no member "carries" the empty route
    for (const std::size_t n = t.size(); from < n; ++from) {
      if (t.route(from) == route) return from;
    }
    return kNoMember;
  }
  std::size_t next_same(std::size_t i, std::string_view route) noexcept {
    return at_or_after(i + 1, route);
  }
  std::size_t first_of_redirect(std::size_t /*i*/, std::string_view redirect) noexcept {
    return at_or_after(0, redirect);
  }
};

template <MemberTable T>
struct IndexedRoutes {
  T& t;
  const RouteIndex& index;
  bool stale = false;

  std::size_t checked(std::uint32_t j, std::string_view route) noexcept {
    if (j == RouteIndex::kNone) return kNoMember;
    if (j >= t.size() || t.route(j) != route) {
      stale = true;
      return kNoMember;
    }
    return j;
  }
  std::size_t next_same(std::size_t i, std::string_view route) noexcept {
    return checked(index.next_same(i), route);
  }
  std::size_t first_of_redirect(std::size_t i, std::string_view redirect) noexcept {
    return checked(index.redirect_first(i), redirect);
  }
};

// The walk of find_route_member from `id`, the first member carrying `route`:
// its members in order, non-standby ones first, then standbys; a usable one (or
// one whose retry is due) wins; an unusable one with a `redirect` is followed
// there. Each route other than the request's own is explored once.
// Whether member i may take a request of its session at `now`: usable (or its
// retry due), and not ejected unless it keeps its sessions or `keep` says so.
template <MemberTable T>
bool takes_session(T& t, std::size_t i, std::int64_t now, bool keep) noexcept {
  if (!recover_if_due(t, i, now)) return false;
  const MemberCounters& c = t.counters(i);
  return keep || !is_ejected(c, now) || c.eject_sessions.load(std::memory_order_relaxed) != 0;
}

template <MemberTable T, class Routes>
std::size_t walk_route(T& t, Routes& routes, std::size_t id, std::string_view route,
                       std::int64_t now, ExploredRoutes& explored, bool redirected,
                       bool keep) noexcept {
  // The route a request carries is not marked: a cycle back to it explores it
  // once more, and the common lookup, without a redirect, touches no bits.
  if (redirected && !explored.first_visit(id)) return kNoMember;
  bool standbys = false;  // the route has hot standbys: a second pass is owed to them
  for (int pass = 0; pass < 2; ++pass) {
    const bool want_standby = pass == 1;
    if (want_standby && !standbys) break;
    for (std::size_t i = id; i != kNoMember && !routes.stale; i = routes.next_same(i, route)) {
      const bool standby = (t.status(i) & kHotStandby) != 0;
      standbys = standbys || standby;
      if (standby != want_standby) continue;
      if (takes_session(t, i, now, keep)) return i;
      const std::string_view redirect = t.redirect(i);
      if (redirect.empty()) continue;
      const std::size_t j = routes.first_of_redirect(i, redirect);
      if (j == kNoMember) continue;
      const std::size_t m = walk_route(t, routes, j, redirect, now, explored, true, keep);
      if (m != kNoMember) return m;
    }
  }
  return kNoMember;
}

}  // namespace detail

// The member that serves sticky route `route`: a usable member with that route
// (non-standby members first, then standbys), retrying one in error if due; if it
// is unusable and names a `redirect` route, the member serving that route, found
// the same way. kNoMember when there is none. An ejected member counts as
// unusable unless it keeps its sessions (ejectsessions) or `keep_ejected`.
//
// Cost: each route is explored at most once per lookup (a cycle of routes whose
// members are all down used to cost exponential time; stock has the same flaw).
// With `index` (built from the same members; route_index.hpp) a lookup reads
// each member a bounded number of times: linear in the members whatever the
// redirect graph. Without it, or where a concurrent edit left it behind the
// table, at most routes x members reads.
template <MemberTable T>
std::size_t find_route_member(T& t, std::string_view route, std::int64_t now,
                              const RouteIndex* index = nullptr,
                              bool keep_ejected = false) noexcept {
  detail::ExploredRoutes explored;
  explored.budget = t.size();
  detail::ScanRoutes<T> scan{t};
  const std::size_t id = scan.at_or_after(0, route);
  if (id == kNoMember) return kNoMember;
  if (index != nullptr && index->size() == t.size()) {
    detail::IndexedRoutes<T> indexed{t, *index};
    const std::size_t m =
        detail::walk_route(t, indexed, id, route, now, explored, false, keep_ejected);
    if (!indexed.stale) return m;
    explored = {};
    explored.budget = t.size();
  }
  return detail::walk_route(t, scan, id, route, now, explored, false, keep_ejected);
}

// Whether any member carries `route`, usable or not (nofailover's test).
template <MemberTable T>
bool has_route(const T& t, std::string_view route) noexcept {
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!t.route(i).empty() && t.route(i) == route) return true;
  }
  return false;
}

}  // namespace isb

// Which members carry each route, and where each member's `redirect` leads,
// built once per process whenever the members change (the member version moves
// on every add and removal and on every change of a route, redirect or weight),
// so that a sticky lookup that follows redirects is linear in the members
// whatever the redirect graph.
//
// For member i of the table it was built from:
//   next_same(i)      the next member (higher index) with the same route, or kNone;
//   redirect_first(i) the first member whose route is i's redirect, or kNone.
// The index describes the members of the member version it was built at, and
// the caller uses it only while that version holds. Lookups still check every
// step against the table's strings: during an edit (between its write and the
// version it bumps) an index can miss a member that just took a route, but it
// never yields one that does not carry it; where a step does not match, the
// lookup falls back to scanning.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/member/member_table.hpp"

namespace isb {

class RouteIndex {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  template <MemberTable T>
  static RouteIndex build(const T& t) {
    RouteIndex index;
    const auto n = static_cast<std::uint32_t>(t.size());
    index.next_same_.assign(n, kNone);
    index.redirect_first_.assign(n, kNone);
    std::unordered_map<std::string_view, std::uint32_t> first;  // views into `t`, for the build
    std::unordered_map<std::string_view, std::uint32_t> last;
    first.reserve(n);
    last.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::string_view route = t.route(i);
      if (route.empty()) continue;
      auto [it, fresh] = last.try_emplace(route, i);
      if (fresh) {
        first.emplace(route, i);
      } else {
        index.next_same_[it->second] = i;
        it->second = i;
      }
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::string_view redirect = t.redirect(i);
      if (redirect.empty()) continue;
      if (auto it = first.find(redirect); it != first.end()) index.redirect_first_[i] = it->second;
    }
    return index;
  }

  std::size_t size() const noexcept { return next_same_.size(); }
  std::uint32_t next_same(std::size_t i) const noexcept { return next_same_[i]; }
  std::uint32_t redirect_first(std::size_t i) const noexcept { return redirect_first_[i]; }

 private:
  std::vector<std::uint32_t> next_same_;
  std::vector<std::uint32_t> redirect_first_;
};

}  // namespace isb

// A MemberTable over plain structs, so every core decision can be replayed.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "core/member/member_table.hpp"
#include "core/member/status.hpp"
#include "core/routing/decision.hpp"

namespace isb::test {

struct FakeMember {
  std::string name;
  std::uint32_t status = kInitialized;
  int lbset = 0;
  std::int64_t weight = 100;
  std::string route;
  std::string redirect;
  std::uint64_t traffic = 0;
  std::int64_t error_time = 0;
  std::int64_t retry = 60'000'000;  // stock default: 60 s
  int retries = 0;
  MemberCounters counters;
};

class FakeTable {
 public:
  FakeMember& add(std::string name, std::int64_t weight = 100) {
    FakeMember& m = members_.emplace_back();
    m.name = std::move(name);
    m.weight = weight;
    return m;
  }
  FakeMember& operator[](std::size_t i) { return members_[i]; }
  FakeMember& by_name(const std::string& name) {
    for (auto& m : members_) {
      if (m.name == name) return m;
    }
    throw std::out_of_range(name);
  }

  std::size_t size() const { return members_.size(); }
  std::uint32_t status(std::size_t i) const { return members_[i].status; }
  int lbset(std::size_t i) const { return members_[i].lbset; }
  std::int64_t weight(std::size_t i) const { return members_[i].weight; }
  std::string_view route(std::size_t i) const {
    std::atomic_ref<std::size_t>(route_reads).fetch_add(1, std::memory_order_relaxed);
    return members_[i].route;
  }
  std::string_view redirect(std::size_t i) const { return members_[i].redirect; }
  std::uint64_t traffic(std::size_t i) const { return members_[i].traffic; }
  std::int64_t error_time(std::size_t i) const { return members_[i].error_time; }
  std::int64_t retry_interval(std::size_t i) const { return members_[i].retry; }
  MemberCounters& counters(std::size_t i) { return members_[i].counters; }
  bool clear_error(std::size_t i) {
    if ((members_[i].status & kInError) == 0) return false;
    members_[i].status &= ~static_cast<std::uint32_t>(kInError);
    ++members_[i].retries;
    return true;
  }

  // How often route() was asked: the cost of a lookup. Counted through an
  // atomic_ref, since the concurrency test reads routes from many threads, and a
  // plain member, so that the table stays movable (bench/micro moves it).
  mutable std::size_t route_reads = 0;

 private:
  std::deque<FakeMember> members_;
};

static_assert(MemberTable<FakeTable>);

// Runs `n` new-session decisions and returns the chosen names, "-" for none.
inline std::vector<std::string> picks(FakeTable& t, std::string_view method, int n,
                                      std::int64_t now = 0) {
  BalancerPolicy policy;
  policy.selector = find_selector(method);
  std::vector<Candidate> scratch(t.size());
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    Decision d = decide(t, policy, RequestView{"balancer://c/", {}, "", now}, scratch);
    out.push_back(d.outcome == Outcome::kBalanced ? t[d.member].name : "-");
  }
  return out;
}

using Names = std::vector<std::string>;

// How often each name occurs in `names`.
inline std::map<std::string, int> shares(const Names& names) {
  std::map<std::string, int> out;
  for (const auto& n : names) ++out[n];
  return out;
}

}  // namespace isb::test

#include <catch2/catch.hpp>

#include "fake_table.hpp"

using namespace isb;
using namespace isb::test;

namespace {
constexpr std::int64_t kSecond = 1'000'000;
}

TEST_CASE("lbset tiers: a higher lbset is used only when the lower one is down",
          "[eligibility][lbset]") {
  FakeTable t;
  t.add("a").lbset = 0;
  t.add("b").lbset = 1;
  t.add("c").lbset = 1;
  CHECK(picks(t, "byrequests", 3) == Names{"a", "a", "a"});
  t.by_name("a").status |= kDisabled;
  CHECK(picks(t, "byrequests", 4) == Names{"b", "c", "b", "c"});
  t.by_name("b").status |= kStopped;
  CHECK(picks(t, "byrequests", 2) == Names{"c", "c"});
  t.by_name("c").status |= kInError;
  t.by_name("c").error_time = 0;
  CHECK(picks(t, "byrequests", 1, 10 * kSecond) == Names{"-"});
}

TEST_CASE("hot standby: used only when every other member of its lbset is unusable",
          "[eligibility][standby]") {
  FakeTable t;
  t.add("a");
  t.add("b");
  t.add("s").status |= kHotStandby;
  CHECK(picks(t, "byrequests", 4) == Names{"a", "b", "a", "b"});
  t.by_name("a").status |= kDisabled;
  CHECK(picks(t, "byrequests", 2) == Names{"b", "b"});
  t.by_name("b").status |= kDisabled;
  CHECK(picks(t, "byrequests", 2) == Names{"s", "s"});
}

TEST_CASE("hot standby of lbset 0 comes before members of lbset 1", "[eligibility][standby]") {
  FakeTable t;
  t.add("a").status |= kDisabled;
  t.add("s").status |= kHotStandby;
  t.add("x").lbset = 1;
  CHECK(picks(t, "byrequests", 2) == Names{"s", "s"});
}

TEST_CASE("hot spare: replaces unusable members one for one", "[eligibility][spare]") {
  FakeTable t;
  t.add("a");
  t.add("b");
  t.add("r1").status |= kHotSpare;
  t.add("r2").status |= kHotSpare;
  CHECK(picks(t, "byrequests", 2) == Names{"a", "b"});
  t.by_name("a").status |= kDisabled;
  // One member down: one spare (the first) joins b.
  CHECK(picks(t, "byrequests", 4) == Names{"b", "r1", "b", "r1"});
  t.by_name("b").status |= kDisabled;
  CHECK(picks(t, "byrequests", 4) == Names{"r1", "r2", "r1", "r2"});
}

TEST_CASE("drain: a draining member takes no new sessions", "[eligibility][drain]") {
  FakeTable t;
  t.add("a");
  t.add("b").status |= kDrain;
  CHECK(picks(t, "byrequests", 3) == Names{"a", "a", "a"});
}

TEST_CASE("draining member counts as unusable, so a spare stands in", "[eligibility][drain]") {
  FakeTable t;
  t.add("a");
  t.add("b").status |= kDrain;
  t.add("r").status |= kHotSpare;
  CHECK(picks(t, "byrequests", 4) == Names{"a", "r", "a", "r"});
}

TEST_CASE("error and retry follow the fake clock", "[eligibility][retry]") {
  FakeTable t;
  t.add("a");
  FakeMember& b = t.add("b");
  b.status |= kInError;
  b.error_time = 100 * kSecond;
  b.retry = 5 * kSecond;
  CHECK(picks(t, "byrequests", 2, 104 * kSecond) == Names{"a", "a"});
  CHECK(b.retries == 0);
  CHECK(picks(t, "byrequests", 1, 105 * kSecond) == Names{"a"});  // not yet: strictly after
  // Retry interval over: b is back, and its first pick is its credit's due.
  auto seq = picks(t, "byrequests", 2, 105 * kSecond + 1);
  CHECK(std::find(seq.begin(), seq.end(), "b") != seq.end());
  CHECK((b.status & kInError) == 0);
  CHECK(b.retries == 1);
}

TEST_CASE("a stopped member is never retried; ignore-errors is retried at once",
          "[eligibility][retry]") {
  FakeTable t;
  FakeMember& s = t.add("s");
  s.status |= kInError | kStopped;
  FakeMember& i = t.add("i");
  i.status |= kInError | kIgnoreErrors;
  i.error_time = 1000 * kSecond;
  CHECK(!recover_if_due(t, 0, 10'000 * kSecond));
  CHECK(recover_if_due(t, 1, 0));
}

TEST_CASE("forcerecovery: all members in error are put back", "[eligibility][forcerecovery]") {
  FakeTable t;
  for (const char* n : {"a", "b"}) {
    FakeMember& m = t.add(n);
    m.status |= kInError;
    m.error_time = 100 * kSecond;
  }
  CHECK(!force_recovery_if_all_failed(t, 101 * kSecond, false));
  CHECK((t[0].status & t[1].status & kInError) != 0);
  CHECK(force_recovery_if_all_failed(t, 101 * kSecond, true));
  CHECK(t[0].retries == 1);
  // Whoever finds the errors cleared already (another request forced them
  // first) clears nothing and reports nothing; no retry is counted twice.
  CHECK_FALSE(t.clear_error(0));
  CHECK(t[0].retries == 1);
  CHECK(picks(t, "byrequests", 2, 101 * kSecond) == Names{"a", "b"});
}

TEST_CASE("route lookup: standby after non-standby, redirect when down", "[eligibility][route]") {
  FakeTable t;
  FakeMember& s = t.add("s");
  s.route = "n1";
  s.status |= kHotStandby;
  FakeMember& a = t.add("a");
  a.route = "n1";
  FakeMember& b = t.add("b");
  b.route = "n2";
  CHECK(find_route_member(t, "n1", 0) == 1);
  a.status |= kDisabled;
  CHECK(find_route_member(t, "n1", 0) == 0);  // the standby with the same route
  s.status |= kDisabled;
  CHECK(find_route_member(t, "n1", 0) == kNoMember);
  a.redirect = "n2";
  CHECK(find_route_member(t, "n1", 0) == 2);
  CHECK(find_route_member(t, "zz", 0) == kNoMember);
  CHECK(find_route_member(t, "", 0) == kNoMember);
}

TEST_CASE("route lookup: redirect cycles end", "[eligibility][route]") {
  FakeTable t;
  FakeMember& a = t.add("a");
  a.route = "n1";
  a.redirect = "n2";
  a.status |= kDisabled;
  FakeMember& b = t.add("b");
  b.route = "n2";
  b.redirect = "n1";
  b.status |= kDisabled;
  CHECK(find_route_member(t, "n1", 0) == kNoMember);
}

namespace {

// prefix + number, by appending: GCC 12 at -O3 takes `"r" + std::to_string(n)`
// for an overlapping copy (-Werror=restrict, a false positive).
std::string numbered(const char* prefix, std::uint64_t n) {
  return std::string(prefix).append(std::to_string(n));
}

// `routes` routes of two members each, all down, each redirecting to the next
// route and the last to the first.
void add_redirect_cycle(FakeTable& t, int routes) {
  for (int r = 0; r < routes; ++r) {
    for (int k = 0; k < 2; ++k) {
      FakeMember& m = t.add(numbered("m", static_cast<std::uint64_t>(2 * r + k)));
      m.route = numbered("r", static_cast<std::uint64_t>(r));
      m.redirect = numbered("r", static_cast<std::uint64_t>((r + 1) % routes));
      m.status |= kDisabled;
    }
  }
}

}  // namespace

TEST_CASE("route lookup: a redirect cycle of 50 routes costs routes x members reads at most",
          "[eligibility][route]") {
  // Two members per route, all down, each redirecting to the next route: the
  // depth-first walk without memory explored 2^depth paths (11 routes took 0.9 s).
  FakeTable t;
  constexpr int kRoutes = 50;
  add_redirect_cycle(t, kRoutes);
  t.route_reads = 0;
  CHECK(find_route_member(t, "r0", 0) == kNoMember);
  CHECK(t.route_reads <= 3 * t.size() * kRoutes);
  // The last route's second member is up: found through the whole chain.
  t[2 * kRoutes - 1].status &= ~kDisabled;
  t.route_reads = 0;
  CHECK(find_route_member(t, "r0", 0) == 2 * kRoutes - 1);
  CHECK(t.route_reads <= 3 * t.size() * kRoutes);
}

TEST_CASE("route lookup with an index: a cycle of 50 routes is linear in the members",
          "[eligibility][route]") {
  FakeTable t;
  constexpr int kRoutes = 50;
  add_redirect_cycle(t, kRoutes);
  const RouteIndex index = RouteIndex::build(t);
  t.route_reads = 0;
  CHECK(find_route_member(t, "r0", 0, &index) == kNoMember);
  // One scan for the request's route, then each member read at most twice per
  // pass of its route's walk, plus the redirect target checks.
  CHECK(t.route_reads <= 6 * t.size());
  t[2 * kRoutes - 1].status &= ~kDisabled;
  t.route_reads = 0;
  CHECK(find_route_member(t, "r0", 0, &index) == 2 * kRoutes - 1);
  CHECK(t.route_reads <= 6 * t.size());
}

TEST_CASE("route lookup with an index finds what the scan finds", "[eligibility][route]") {
  // Random tables: routes from a small set, random redirects (cycles included),
  // random standby and down members; every route asked with and without the index.
  std::uint64_t seed = 0x1234'5678'9abc'def0ULL;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  for (int round = 0; round < 300; ++round) {
    FakeTable a;
    FakeTable b;  // the same table: recover_if_due changes what it reads
    const int members = 1 + static_cast<int>(next() % 24);
    const int routes = 1 + static_cast<int>(next() % 8);
    for (int i = 0; i < members; ++i) {
      const std::string route = next() % 7 == 0 ? "" : numbered("r", next() % routes);
      const std::string redirect = next() % 2 == 0 ? "" : numbered("r", next() % routes);
      std::uint32_t status = kInitialized;
      if (next() % 3 == 0) status |= kDisabled;
      if (next() % 4 == 0) status |= kHotStandby;
      for (FakeTable* t : {&a, &b}) {
        FakeMember& m = t->add(numbered("m", i));
        m.route = route;
        m.redirect = redirect;
        m.status = status;
      }
    }
    const RouteIndex index = RouteIndex::build(b);
    for (int r = 0; r <= routes; ++r) {
      const std::string route = numbered("r", r);
      INFO("round " << round << " route " << route);
      CHECK(find_route_member(a, route, 0) == find_route_member(b, route, 0, &index));
    }
    // Edits the index has not seen (in httpd: between an edit's write and the
    // member version it bumps): the answer may differ from the scan's for that
    // moment, but it is a usable member or none, never out of bounds.
    for (int e = 0; e < 3; ++e) {
      const auto i = static_cast<std::size_t>(next() % static_cast<std::uint64_t>(members));
      const std::string route = numbered("r", next() % routes);
      (next() % 2 == 0 ? b[i].redirect : b[i].route) = route;
    }
    for (int r = 0; r <= routes; ++r) {
      const std::size_t m = find_route_member(b, numbered("r", r), 0, &index);
      CHECK((m == kNoMember || (m < b.size() && is_usable(b.status(m)))));
    }
  }
}

TEST_CASE("route lookup with a stale index falls back to scanning", "[eligibility][route]") {
  FakeTable t;
  t.add("a").route = "n1";
  t.add("b").route = "n2";
  t[0].status |= kDisabled;
  t[0].redirect = "n2";
  const RouteIndex index = RouteIndex::build(t);
  CHECK(find_route_member(t, "n1", 0, &index) == 1);
  // Routes edited since the index was built: every answer still follows the table.
  t[1].route = "n3";
  t[0].redirect = "n3";
  CHECK(find_route_member(t, "n1", 0, &index) == 1);
  t.add("c").route = "n1";  // a member added: the index has fewer members
  t[0].redirect = "";
  CHECK(find_route_member(t, "n1", 0, &index) == 2);
}

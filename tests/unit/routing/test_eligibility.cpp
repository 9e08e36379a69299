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

TEST_CASE("route lookup: a redirect cycle of 50 routes costs routes x members reads at most",
          "[eligibility][route]") {
  // Two members per route, all down, each redirecting to the next route: the
  // depth-first walk without memory explored 2^depth paths (11 routes took 0.9 s).
  FakeTable t;
  constexpr int kRoutes = 50;
  for (int r = 0; r < kRoutes; ++r) {
    for (int k = 0; k < 2; ++k) {
      // (std::string::append: GCC 12 at -O3 takes "r" + std::to_string(r) for an overlap.)
      FakeMember& m = t.add(std::string("m").append(std::to_string(2 * r + k)));
      m.route = std::string("r").append(std::to_string(r));
      m.redirect = std::string("r").append(std::to_string((r + 1) % kRoutes));
      m.status |= kDisabled;
    }
  }
  t.route_reads = 0;
  CHECK(find_route_member(t, "r0", 0) == kNoMember);
  CHECK(t.route_reads <= 3 * t.size() * kRoutes);
  // The last route's second member is up: found through the whole chain.
  t[2 * kRoutes - 1].status &= ~kDisabled;
  t.route_reads = 0;
  CHECK(find_route_member(t, "r0", 0) == 2 * kRoutes - 1);
  CHECK(t.route_reads <= 3 * t.size() * kRoutes);
}

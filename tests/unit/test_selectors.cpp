#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

#include "fake_table.hpp"

using namespace isb;
using namespace isb::test;

TEST_CASE("byrequests: weights 5:1:1 give the documented sequence", "[selector][byrequests]") {
  FakeTable t;
  t.add("a", 500);
  t.add("b", 100);
  t.add("c", 100);
  CHECK(picks(t, "byrequests", 7) == Names{"a", "a", "b", "a", "c", "a", "a"});
  // The credit sums to zero after each full round, so the round repeats exactly.
  CHECK(picks(t, "byrequests", 7) == Names{"a", "a", "b", "a", "c", "a", "a"});
}

TEST_CASE("byrequests: equal weights rotate", "[selector][byrequests]") {
  FakeTable t;
  t.add("a");
  t.add("b");
  t.add("c");
  CHECK(picks(t, "byrequests", 6) == Names{"a", "b", "c", "a", "b", "c"});
}

TEST_CASE("byrequests: a member disabled mid-sequence drops out, the rest keep weights",
          "[selector][byrequests]") {
  FakeTable t;
  t.add("a", 500);
  t.add("b", 100);
  t.add("c", 100);
  CHECK(picks(t, "byrequests", 3) == Names{"a", "a", "b"});
  t.by_name("a").status |= kDisabled;
  // Credit is now a=100 b=-400 c=300 and only b and c earn. c spends its lead
  // first, then the two alternate 1:1; a's credit stays frozen while disabled.
  CHECK(picks(t, "byrequests", 4) == Names{"c", "c", "c", "c"});
  CHECK(picks(t, "byrequests", 6) == Names{"b", "c", "b", "c", "b", "c"});
  t.by_name("a").status &= ~static_cast<std::uint32_t>(kDisabled);
  auto after = picks(t, "byrequests", 700);
  auto near = [&](const char* name, long want) {
    long got = std::count(after.begin(), after.end(), name);
    INFO(name << " got " << got << " want " << want);
    CHECK(std::labs(got - want) <= 1);
  };
  near("a", 500);
  near("b", 100);
  near("c", 100);
}

TEST_CASE("byrequests: shares converge to 1:2:5 over many picks", "[selector][byrequests]") {
  FakeTable t;
  t.add("a", 100);
  t.add("b", 200);
  t.add("c", 500);
  auto seq = picks(t, "byrequests", 8000);
  CHECK(std::count(seq.begin(), seq.end(), "a") == 1000);
  CHECK(std::count(seq.begin(), seq.end(), "b") == 2000);
  CHECK(std::count(seq.begin(), seq.end(), "c") == 5000);
}

TEST_CASE("bybusyness: idle members first, ties broken by weighted credit",
          "[selector][bybusyness]") {
  FakeTable t;
  t.add("a");
  t.add("b");
  // Nothing completes: busy counts grow with each pick (the caller's job; here by hand).
  BalancerPolicy policy;
  policy.selector = find_selector("bybusyness");
  std::vector<Candidate> scratch(t.size());
  Names seq;
  for (int i = 0; i < 4; ++i) {
    Decision d = decide(t, policy, RequestView{"balancer://c/", "", 0}, scratch);
    t[d.member].counters.busy += 1;
    seq.push_back(t[d.member].name);
  }
  CHECK(seq == Names{"a", "b", "a", "b"});

  // A member with requests in flight loses to an idle one whatever the weights.
  t[0].counters.busy = 5;
  t[0].weight = 10000;
  t[1].counters.busy = 0;
  CHECK(picks(t, "bybusyness", 3) == Names{"b", "b", "b"});
}

TEST_CASE("bytraffic: fewest bytes per unit of weight wins", "[selector][bytraffic]") {
  FakeTable t;
  t.add("a", 100).traffic = 1000;
  t.add("b", 200).traffic = 1000;
  CHECK(picks(t, "bytraffic", 1) == Names{"b"});
  t[1].traffic = 2000;  // scores now equal: first wins
  CHECK(picks(t, "bytraffic", 1) == Names{"a"});
  t[0].traffic = 5000;
  CHECK(picks(t, "bytraffic", 2) == Names{"b", "b"});
}

TEST_CASE("selector registry", "[selector]") {
  for (auto name : selector_names()) {
    const Selector* s = find_selector(name);
    REQUIRE(s != nullptr);
    CHECK(s->name() == name);
  }
  CHECK(find_selector("heartbeat") == nullptr);
  CHECK(find_selector("") == nullptr);
}

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
    Decision d = decide(t, policy, RequestView{"balancer://c/", {}, "", 0}, scratch);
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

namespace {
long count_of(const Names& seq, const char* name) {
  return std::count(seq.begin(), seq.end(), name);
}
}  // namespace

TEST_CASE("leastrequest: idle members share by weight", "[selector][leastrequest]") {
  seed_selector_random(42);
  FakeTable t;
  t.add("a", 100);
  t.add("b", 200);
  t.add("c", 500);
  // Nothing in flight: every pair ties, the first drawn wins, and it was drawn with
  // probability weight / total.
  auto seq = picks(t, "leastrequest", 16000);
  CHECK(std::labs(count_of(seq, "a") - 2000) < 200);
  CHECK(std::labs(count_of(seq, "b") - 4000) < 250);
  CHECK(std::labs(count_of(seq, "c") - 10000) < 300);
}

TEST_CASE("leastrequest: the less busy of any pair wins, per unit of weight",
          "[selector][leastrequest]") {
  seed_selector_random(7);
  FakeTable t;
  t.add("a");
  t.add("b");
  t.add("c");
  t[0].counters.busy = 10;
  t[1].counters.busy = 3;
  // c is idle: every pair holding c picks c; the pair (a, b) picks b.
  auto seq = picks(t, "leastrequest", 3000);
  CHECK(count_of(seq, "a") == 0);
  CHECK(count_of(seq, "b") > 700);   // about a third: the pairs without c
  CHECK(count_of(seq, "c") > 1800);  // about two thirds
  // Two members: always the idler; a weight of 4 lets a carry 4 times b's load.
  FakeTable two;
  two.add("a", 400).counters.busy = 7;
  two.add("b", 100).counters.busy = 2;
  CHECK(picks(two, "leastrequest", 20) == Names(20, "a"));
  two[0].counters.busy = 9;
  CHECK(picks(two, "leastrequest", 20) == Names(20, "b"));
}

TEST_CASE("leastrequest: one candidate, and picks follow requests in flight",
          "[selector][leastrequest]") {
  FakeTable t;
  t.add("only");
  CHECK(picks(t, "leastrequest", 3) == Names{"only", "only", "only"});

  // Nothing completes: each pick adds one in flight, so the load evens out.
  seed_selector_random(3);
  FakeTable even;
  for (const char* n : {"a", "b", "c", "d"}) even.add(n);
  BalancerPolicy policy;
  policy.selector = find_selector("leastrequest");
  std::vector<Candidate> scratch(even.size());
  for (int i = 0; i < 400; ++i) {
    Decision d = decide(even, policy, RequestView{"balancer://c/", {}, "", 0}, scratch);
    even[d.member].counters.busy += 1;
  }
  for (std::size_t i = 0; i < even.size(); ++i) {
    INFO(even[i].name << " busy " << even[i].counters.busy.load());
    CHECK(std::labs(even[i].counters.busy.load() - 100) <= 3);
  }
}

TEST_CASE("peak latency estimate: jumps up, eases down, decays while idle",
          "[selector][bylatency]") {
  MemberCounters c;
  CHECK(latency_estimate_us(c, 1'000'000) == 0);  // no sample yet
  record_latency(c, 1000, 1'000'000);
  CHECK(latency_estimate_us(c, 1'000'000) == 1000);
  record_latency(c, 21000, 1'000'000);  // one slow answer: the estimate jumps
  CHECK(latency_estimate_us(c, 1'000'000) == 21000);
  record_latency(c, 1000, 1'000'000);  // a fast one eases it down by 1/8 of the gap
  CHECK(latency_estimate_us(c, 1'000'000) == 21000 - 20000 / 8);
  // Untouched for one half-life: half; for 40 or more: the 1 µs floor, never 0.
  CHECK(latency_estimate_us(c, 1'000'000 + kPeakHalfLifeUs) == (21000 - 2500) / 2);
  CHECK(latency_estimate_us(c, 1'000'000 + 60 * kPeakHalfLifeUs) == 1);
  // The operators' EWMA is separate and unaffected by the decay.
  CHECK(c.latency_count.load() == 3);
  CHECK(c.latency_ewma_us.load() > 1000);
}

TEST_CASE("bylatency: a slow member gets a probe now and then, a recovered one its share",
          "[selector][bylatency]") {
  seed_selector_random(11);
  FakeTable t;
  t.add("a");
  t.add("b");
  t.add("slow");
  BalancerPolicy policy;
  policy.selector = find_selector("bylatency");
  std::vector<Candidate> scratch(t.size());
  // 300 requests/s for 20 s, each answered at once: a and b in 1 ms, slow in 21 ms.
  auto run = [&](std::int64_t start_us, int requests, std::int64_t slow_us) {
    Names seq;
    for (int i = 0; i < requests; ++i) {
      const std::int64_t now = start_us + i * 1'000'000LL / 300;
      Decision d = decide(t, policy, RequestView{"balancer://c/", {}, "", now}, scratch);
      const std::int64_t took = t[d.member].name == "slow" ? slow_us : 1000;
      record_latency(t[d.member].counters, took, now + took);
      seq.push_back(t[d.member].name);
    }
    return seq;
  };
  Names seq = run(1'000'000, 6000, 21'000);
  // Probes about once per 1.1 s (4.4 half-lives): some 20 in 20 s, well under 1 %
  // of requests, so the p99 is a fast member's.
  INFO("slow got " << count_of(seq, "slow"));
  CHECK(count_of(seq, "slow") >= 5);
  CHECK(count_of(seq, "slow") <= 60);
  CHECK(std::labs(count_of(seq, "a") - count_of(seq, "b")) < 400);

  // The slow member recovers: the first probe brings its estimate down, and it
  // soon takes a third again.
  Names after = run(21'000'000, 6000, 1000);
  Names tail(after.begin() + 3000, after.end());
  INFO("recovered slow got " << count_of(tail, "slow") << " of the last 3000");
  CHECK(count_of(tail, "slow") > 700);
}

TEST_CASE("bylatency: members without samples are tried first, then queues count",
          "[selector][bylatency]") {
  seed_selector_random(5);
  FakeTable t;
  t.add("old");
  t.add("new");
  record_latency(t[0].counters, 2000, 0);
  // new has no estimate: it costs 0 and wins every pair.
  CHECK(picks(t, "bylatency", 5) == Names(5, "new"));
  record_latency(t[1].counters, 1000, 0);
  // Both measured: new answers twice as fast, until it has two more in flight.
  CHECK(picks(t, "bylatency", 5) == Names(5, "new"));
  t[1].counters.busy = 2;  // 1000 * 3 > 2000 * 1
  CHECK(picks(t, "bylatency", 5) == Names(5, "old"));
}

TEST_CASE("selector registry", "[selector]") {
  REQUIRE(selector_names().size() == kSelectorCount);
  for (std::size_t i = 0; i < kSelectorCount; ++i) {
    const Selector* s = find_selector(selector_names()[i]);
    REQUIRE(s != nullptr);
    CHECK(s == selector_at(i));  // the shared segment names a method by this index
    for (std::size_t j = 0; j < i; ++j) CHECK(s != selector_at(j));
  }
  CHECK(selector_at(kSelectorCount) == nullptr);
  CHECK(find_selector("heartbeat") == nullptr);
  CHECK(find_selector("") == nullptr);
}

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/policy/state_cache.hpp"
#include "core/policy/two_choices.hpp"
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

namespace {

// Candidates over plain counters, for the two-choices worked sequences.
struct Pool {
  std::vector<MemberCounters> counters;
  std::vector<Candidate> candidates;
  explicit Pool(std::vector<std::int64_t> weights) : counters(weights.size()) {
    for (std::size_t i = 0; i < weights.size(); ++i) {
      candidates.push_back({static_cast<std::uint32_t>(i), weights[i], 0, &counters[i]});
    }
  }
};

}  // namespace

TEST_CASE("leastrequest: the worked sequence of selector_leastrequest.cpp",
          "[selector][leastrequest]") {
  Pool p({100, 100, 200});
  p.counters[0].busy = 3;
  p.counters[1].busy = 1;
  p.counters[2].busy = 4;
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> draws{
      {50, 150}, {120, 20}, {300, 10}, {210, 150}};
  std::string got;
  for (auto [r1, r2] : draws) {
    got += "abc"[two_choices(std::span<const Candidate>(p.candidates), &leastrequest_cost, r1, r2)];
  }
  CHECK(got == "cbcb");
  // Equal costs: the first drawn wins.
  p.counters[0].busy = 2;
  p.counters[1].busy = 2;
  CHECK(two_choices(std::span<const Candidate>(p.candidates), &leastrequest_cost, 150, 50) == 1);
  CHECK(two_choices(std::span<const Candidate>(p.candidates), &leastrequest_cost, 50, 50) == 0);
}

TEST_CASE("bylatency: the worked sequence of selector_bylatency.cpp", "[selector][bylatency]") {
  Pool p({100, 100, 100});
  record_latency(p.counters[0], 1000, 0);
  record_latency(p.counters[1], 1000, 0);
  record_latency(p.counters[2], 21000, 0);
  auto cost = [](const Candidate& c) { return bylatency_cost(c, 0); };
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> draws{
      {250, 50}, {120, 150}, {10, 120}};
  std::string got;
  for (auto [r1, r2] : draws) {
    got += "abc"[two_choices(std::span<const Candidate>(p.candidates), cost, r1, r2)];
  }
  CHECK(got == "aba");
  p.counters[0].busy = 2;  // a now costs 3000: a pair (a, b) gives b
  CHECK(two_choices(std::span<const Candidate>(p.candidates), cost, 10, 50) == 1);
}

namespace {

// A method with per-process state: it remembers the weights it was built from
// and picks the member the state says, so a test can see which state it got.
struct Remembered final : SelectorState {
  std::vector<std::int64_t> weights;
};

class Stateful final : public Selector {
 public:
  Stateful() noexcept : Selector(kState | kResults) {}
  std::unique_ptr<const SelectorState> build_state(
      std::span<const Candidate> members) const override {
    auto s = std::make_unique<Remembered>();
    for (const Candidate& c : members) s->weights.push_back(c.weight);
    return s;
  }
  std::size_t pick(std::span<const Candidate> candidates,
                   const PickContext& ctx) const noexcept override {
    last_attempt = ctx.attempt;
    last_state = static_cast<const Remembered*>(ctx.state);
    return candidates.size() - 1;
  }
  void result(MemberCounters& member, const AttemptResult& r) const noexcept override {
    results.push_back({&member, r.status});
  }
  mutable std::uint32_t last_attempt = 0;
  mutable const Remembered* last_state = nullptr;
  mutable std::vector<std::pair<MemberCounters*, int>> results;
};

}  // namespace

TEST_CASE("selector state: built once per member version and selector, handed to picks",
          "[selector][state]") {
  FakeTable t;
  t.add("a", 100);
  t.add("b", 300);
  Stateful method;
  SelectorStateCache cache;
  std::vector<Candidate> scratch(t.size());
  auto members = [&] { return list_members(t, scratch); };

  const SelectorState* s1 = cache.get(method, 1, members);
  CHECK(cache.get(method, 1, members) == s1);  // the same version: no rebuild
  CHECK(cache.builds() == 1);
  REQUIRE(s1 != nullptr);
  CHECK(static_cast<const Remembered*>(s1)->weights == std::vector<std::int64_t>{100, 300});

  t[0].weight = 200;  // an edit: the caller's version moves
  const SelectorState* s2 = cache.get(method, 2, members);
  CHECK(s2 != s1);
  CHECK(static_cast<const Remembered*>(s2)->weights == std::vector<std::int64_t>{200, 300});
  CHECK(static_cast<const Remembered*>(s1)->weights.size() == 2);  // the old one is still alive
  Stateful other;
  CHECK(cache.get(other, 2, members) != s2);  // another method: its own state
  CHECK(cache.builds() == 3);

  // The pick gets the state and the attempt number; the result reaches the method.
  BalancerPolicy policy;
  policy.selector = &method;
  policy.state = s2;
  RequestView req{"balancer://c/", {}, "", 0};
  req.attempt = 2;
  Decision d = decide(t, policy, req, scratch);
  CHECK(d.member == 1);
  CHECK(method.last_attempt == 2);
  CHECK(method.last_state == s2);
  method.result(t[1].counters, AttemptResult{1500, 502, true, 10});
  REQUIRE(method.results.size() == 1);
  CHECK((method.results[0].first == &t[1].counters && method.results[0].second == 502));
}

TEST_CASE("selector state: the built-in methods keep none and want no results",
          "[selector][state]") {
  for (std::size_t i = 0; i < kSelectorCount; ++i) {
    const Selector* s = selector_at(i);
    CHECK(!s->stateful());
    CHECK(!s->wants_results());
  }
}

TEST_CASE("selectors: a balancer's method, as edited, as configured, or byrequests", "[selector]") {
  CHECK(selector_number("byrequests") == 1);
  CHECK(selector_number("bylatency") == 5);
  CHECK(selector_number("ByRequests") == 0);  // names are exact, as the edit validated
  CHECK(selector_number("") == 0);
  CHECK(selector_list() == "byrequests, bybusyness, bytraffic, leastrequest, bylatency");
  for (std::string_view name : selector_names()) {
    CHECK(selector_at(selector_number(name) - 1) == find_selector(name));
  }
  const Selector* busy = find_selector("bybusyness");
  const Selector* latency = find_selector("bylatency");
  // An edit names the method in shared memory: it wins over the configuration.
  CHECK(balancer_selector(selector_number("bylatency"), busy) == latency);
  CHECK(balancer_selector(0, busy) == busy);
  CHECK(balancer_selector(0, nullptr) == find_selector("byrequests"));
  // A number past the registry (a newer module's, say) falls back.
  CHECK(balancer_selector(99, busy) == busy);
}

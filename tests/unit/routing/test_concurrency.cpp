// Many threads deciding at once on the same members: the test the TSan build
// exists for (scripts/sanitize.sh). Every shared update is atomic, so the credit
// sum is conserved exactly and no count is lost.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "core/policy/state_cache.hpp"
#include "fake_table.hpp"

using namespace isb;
using namespace isb::test;

TEST_CASE("concurrent picks and sticky hits keep exact totals", "[concurrency]") {
  FakeTable t;
  t.add("a", 100).route = "n1";
  t.add("b", 200).route = "n2";
  t.add("c", 500).route = "n3";
  BalancerPolicy policy;
  policy.selector = find_selector("byrequests");
  policy.sticky = {"JSESSIONID", "jsessionid", '.', false};
  constexpr int kThreads = 8;
  constexpr int kRounds = 8000;
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) {
    threads.emplace_back([&t, &policy, id] {
      std::vector<Candidate> scratch(t.size());
      for (int i = 0; i < kRounds; ++i) {
        // One request in eight carries a session for member b.
        const bool sticky = (i + id) % 8 == 0;
        RequestView req{"balancer://c/app", {}, sticky ? "JSESSIONID=x.n2" : "", 0};
        Decision d = decide(t, policy, req, scratch);
        MemberCounters& c = t.counters(d.member);
        c.busy.fetch_add(1);
        c.busy.fetch_sub(1);
      }
    });
  }
  for (auto& th : threads) th.join();

  std::int64_t credit = 0;
  std::uint64_t elected = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    credit += t[i].counters.lbstatus.load();
    elected += t[i].counters.elected.load();
    CHECK(t[i].counters.busy.load() == 0);
  }
  CHECK(credit == 0);
  CHECK(elected == std::uint64_t{kThreads} * kRounds);
  CHECK(t[1].counters.sticky.load() == std::uint64_t{kThreads} * kRounds / 8);
  // Sticky hits are charged to the weights, so overall shares still follow 1:2:5.
  const double total = static_cast<double>(elected);
  CHECK(std::abs(static_cast<double>(t[0].counters.elected.load()) / total - 1.0 / 8) < 0.01);
  CHECK(std::abs(static_cast<double>(t[1].counters.elected.load()) / total - 2.0 / 8) < 0.01);
  CHECK(std::abs(static_cast<double>(t[2].counters.elected.load()) / total - 5.0 / 8) < 0.01);
}

TEST_CASE("concurrent two-choice picks and latency records lose no count", "[concurrency]") {
  for (const char* method : {"leastrequest", "bylatency"}) {
    FakeTable t;
    t.add("a", 100);
    t.add("b", 200);
    t.add("c", 500);
    BalancerPolicy policy;
    policy.selector = find_selector(method);
    constexpr int kThreads = 8;
    constexpr int kRounds = 4000;
    std::vector<std::thread> threads;
    for (int id = 0; id < kThreads; ++id) {
      threads.emplace_back([&t, &policy, id] {
        seed_selector_random(static_cast<std::uint64_t>(id) + 1);
        std::vector<Candidate> scratch(t.size());
        for (int i = 0; i < kRounds; ++i) {
          const std::int64_t now = i * 1000LL;
          Decision d = decide(t, policy, RequestView{"balancer://c/app", {}, "", now}, scratch);
          MemberCounters& c = t.counters(d.member);
          c.busy.fetch_add(1);
          record_latency(c, 500 + 100 * static_cast<std::int64_t>(d.member), now + 500);
          c.busy.fetch_sub(1);
        }
      });
    }
    for (auto& th : threads) th.join();
    std::uint64_t elected = 0;
    std::uint64_t samples = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
      INFO(method << " " << t[i].name << " elected " << t[i].counters.elected.load());
      elected += t[i].counters.elected.load();
      samples += t[i].counters.latency_count.load();
      CHECK(t[i].counters.busy.load() == 0);
      CHECK(t[i].counters.elected.load() > 0);
      CHECK(latency_estimate_us(t[i].counters, kRounds * 1000LL) > 0);
    }
    CHECK(elected == std::uint64_t{kThreads} * kRounds);
    CHECK(samples == elected);
  }
}

TEST_CASE("selector state: many threads read while edits rebuild it", "[concurrency]") {
  struct Count final : SelectorState {
    std::size_t members = 0;
  };
  class Stateful final : public Selector {
   public:
    Stateful() noexcept : Selector(kState) {}
    std::unique_ptr<const SelectorState> build_state(
        std::span<const Candidate> members) const override {
      auto s = std::make_unique<Count>();
      s->members = members.size();
      return s;
    }
    std::size_t pick(std::span<const Candidate>, const PickContext&) const noexcept override {
      return 0;
    }
  };
  Stateful method;
  SelectorStateCache cache;
  std::atomic<std::uint64_t> version{0};
  std::atomic<bool> wrong{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      std::vector<Candidate> members(3, Candidate{0, 100, 0, nullptr});
      for (int i = 0; i < 20000; ++i) {
        const auto* s = static_cast<const Count*>(
            cache.get(method, version.load(), [&] { return std::span<const Candidate>(members); }));
        if (s == nullptr || s->members != 3) wrong = true;
      }
    });
  }
  for (int e = 0; e < 200; ++e) version.fetch_add(1);  // edits while they read
  for (auto& t : threads) t.join();
  CHECK(!wrong);
  CHECK(cache.builds() >= 1);
  CHECK(cache.builds() <= 201);
}

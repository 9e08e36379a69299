// The retry budget (core/policy/retry_budget.hpp): the limit at exact numbers,
// admission against it, the counters going back down as requests end, and the
// limit holding across processes that admit at once.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "core/policy/retry_budget.hpp"
#include "segment.hpp"

using namespace isb;
using namespace isb::test;

namespace {

BalancerCounters& budget(BalancerCounters& c, std::int64_t percent, std::int64_t floor) {
  c.retry_budget_percent.store(percent);
  c.retry_budget_floor.store(floor);
  return c;
}

}  // namespace

TEST_CASE("retry budget: the limit is max(floor, percent x in flight / 100)", "[policy][budget]") {
  CHECK(retry_limit(20, 3, 0) == 3);
  CHECK(retry_limit(20, 3, 10) == 3);  // 2 < the floor
  CHECK(retry_limit(20, 3, 19) == 3);  // 3.8, rounded down
  CHECK(retry_limit(20, 3, 20) == 4);
  CHECK(retry_limit(20, 3, 40) == 8);
  CHECK(retry_limit(20, 3, 1000) == 200);
  CHECK(retry_limit(0, 3, 1000) == 3);  // 0 %: the floor only
  CHECK(retry_limit(0, 0, 1000) == 0);  // and no floor: no failover at all
  CHECK(retry_limit(50, 0, 7) == 3);
  CHECK(retry_limit(20, 3, -2) == 3);  // a count read mid-update cannot go below the floor
  static_assert(retry_limit(20, 3, 40) == 8);
}

TEST_CASE("retry budget: failovers are admitted up to the limit, then refused",
          "[policy][budget]") {
  BalancerCounters c;
  budget(c, 20, 3);
  for (int i = 0; i < 10; ++i) budget_enter(c);  // 10 requests in flight: limit 3
  CHECK(admit_failover(c));
  CHECK(admit_failover(c));
  CHECK(admit_failover(c));
  CHECK_FALSE(admit_failover(c));  // the 4th at once
  CHECK_FALSE(admit_failover(c));
  CHECK(c.retries_in_flight.load() == 3);
  CHECK(c.retries.load() == 3);
  CHECK(c.retries_refused.load() == 2);
  CHECK(c.in_flight.load() == 10);

  // One of the failing-over requests ends: its count and its request go.
  budget_leave(c, true);
  CHECK(c.retries_in_flight.load() == 2);
  CHECK(c.in_flight.load() == 9);
  CHECK(admit_failover(c));
  CHECK_FALSE(admit_failover(c));

  // 30 more requests: 39 in flight, limit 7.
  for (int i = 0; i < 30; ++i) budget_enter(c);
  for (int i = 0; i < 4; ++i) CHECK(admit_failover(c));
  CHECK_FALSE(admit_failover(c));
  CHECK(c.retries_in_flight.load() == 7);
  CHECK(c.retries.load() == 8);
  CHECK(c.retries_refused.load() == 4);

  // Every request ends: the gauges are back to zero, the totals stay.
  for (int i = 0; i < 7; ++i) budget_leave(c, true);
  for (int i = 0; i < 32; ++i) budget_leave(c, false);
  CHECK(c.in_flight.load() == 0);
  CHECK(c.retries_in_flight.load() == 0);
  CHECK(c.retries.load() == 8);
  CHECK(c.retries_refused.load() == 4);
}

TEST_CASE("retry budget: the floor lets a lone request fail over", "[policy][budget]") {
  BalancerCounters c;
  budget(c, 20, 3);
  budget_enter(c);
  CHECK(admit_failover(c));  // 20 % of 1 is 0, but the floor is 3
  budget_leave(c, true);
  budget(c, 20, 0);
  budget_enter(c);
  CHECK_FALSE(admit_failover(c));  // no floor: 20 % of 1 request is none
  budget_leave(c, false);
  CHECK(c.in_flight.load() == 0);
  CHECK(c.retries_in_flight.load() == 0);
}

TEST_CASE("retry budget: 0 % keeps the floor, 0 and 0 refuses every failover", "[policy][budget]") {
  BalancerCounters c;
  budget(c, 0, 2);
  for (int i = 0; i < 100; ++i) budget_enter(c);
  CHECK(admit_failover(c));
  CHECK(admit_failover(c));
  CHECK_FALSE(admit_failover(c));
  budget(c, 0, 0);
  budget_leave(c, true);
  budget_leave(c, true);
  CHECK_FALSE(admit_failover(c));
  CHECK(c.retries.load() == 2);
  CHECK(c.retries_refused.load() == 2);
}

TEST_CASE("retry budget: 100 % is no limit", "[policy][budget]") {
  BalancerCounters c;
  budget(c, 100, 0);
  budget_enter(c);
  // More failovers in flight than requests cannot happen in the module (one
  // count per request); the point is that nothing is checked.
  for (int i = 0; i < 50; ++i) CHECK(admit_failover(c));
  CHECK(c.retries_in_flight.load() == 50);  // counted, for the manager
  CHECK(c.retries.load() == 50);
  CHECK(c.retries_refused.load() == 0);
  CHECK(admit_another_failover(c));
}

TEST_CASE("retry budget: a request failing over again keeps its count while within the limit",
          "[policy][budget]") {
  BalancerCounters c;
  budget(c, 20, 3);
  for (int i = 0; i < 10; ++i) budget_enter(c);
  REQUIRE(admit_failover(c));
  REQUIRE(admit_failover(c));
  REQUIRE(admit_failover(c));
  // At the limit, its own count included: its second failover goes ahead and
  // takes no second count.
  CHECK(admit_another_failover(c));
  CHECK(c.retries_in_flight.load() == 3);
  CHECK(c.retries.load() == 4);
  // 6 requests end that were not failing over: 4 in flight, limit still 3.
  for (int i = 0; i < 6; ++i) budget_leave(c, false);
  CHECK(admit_another_failover(c));
  // The floor drops to 2: 3 failovers in flight are over it. The next one to
  // fail over again gives its count back and is refused.
  budget(c, 20, 2);
  CHECK_FALSE(admit_another_failover(c));
  CHECK(c.retries_in_flight.load() == 2);
  CHECK(c.retries_refused.load() == 1);
  CHECK(admit_another_failover(c));  // 2 of 2
  budget_leave(c, false);            // the refused one ends without a count
  budget_leave(c, true);
  budget_leave(c, true);
  budget_leave(c, false);
  CHECK(c.in_flight.load() == 0);
  CHECK(c.retries_in_flight.load() == 0);
}

TEST_CASE("retry budget: processes admitting at once never exceed the limit",
          "[policy][budget][fork]") {
  // BalancerCounters in anonymous shared memory, as httpd's children see them.
  Mapping memory(sizeof(BalancerCounters) + 64);
  auto* c = new (memory.base) BalancerCounters;
  budget(*c, 20, 3);
  for (int i = 0; i < 50; ++i) budget_enter(*c);  // limit 10 for the whole test
  // Counts admitted requests that are inside their failover right now; one slot
  // past the counters, same mapping.
  auto* holding =
      new (static_cast<char*>(memory.base) + sizeof(BalancerCounters)) std::atomic<std::int64_t>{0};
  auto* worst = holding + 1;
  constexpr int kProcesses = 6;
  constexpr int kRounds = 20000;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (int i = 0; i < kRounds; ++i) {
        if (!admit_failover(*c)) continue;
        const std::int64_t now = holding->fetch_add(1) + 1;
        std::int64_t seen = worst->load();
        while (now > seen && !worst->compare_exchange_weak(seen, now)) {
        }
        holding->fetch_sub(1);
        c->retries_in_flight.fetch_sub(1);  // the request ends (leave, in flight kept)
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(worst->load() <= 10);
  CHECK(worst->load() >= 1);
  CHECK(c->retries_in_flight.load() == 0);
  CHECK(c->retries.load() + c->retries_refused.load() == std::uint64_t{kProcesses} * kRounds);
}

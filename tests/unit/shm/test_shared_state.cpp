#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "core/policy/retry_budget.hpp"
#include "core/policy/selector.hpp"
#include "core/shm/shared_state.hpp"
#include "segment.hpp"

using namespace isb;
using isb::test::Mapping;
using isb::test::Segment;

namespace {

const SegmentGeometry kGeometry{2, 5, 200, 1000};

}  // namespace

TEST_CASE("segment: sizes are aligned and overflow-checked", "[shm]") {
  auto n = SharedState::bytes_needed(kGeometry);
  REQUIRE(n);
  CHECK(*n % kSlotAlign == 0);
  CHECK(!SharedState::bytes_needed({0xffffffffu, 0xffffffffu, 1u << 20, 1u << 20}));
  CHECK(!SharedState::bytes_needed({1, 1, 1u << 21, 0}));
}

TEST_CASE("segment: create, then attach validates it", "[shm]") {
  auto n = *SharedState::bytes_needed(kGeometry);
  Mapping m(n);
  auto s = SharedState::create(m.base, n, kGeometry, 42);
  REQUIRE(s);
  CHECK(s->geometry() == kGeometry);
  CHECK(s->header().config_fingerprint == 42);
  // Slots do not overlap and are 64-byte aligned.
  auto addr = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p); };
  for (std::uint32_t i = 0; i < kGeometry.member_capacity; ++i) {
    CHECK(addr(&s->member(i)) % kSlotAlign == 0);
    CHECK(addr(s->member_host(i)) == addr(&s->member(i)) + sizeof(MemberCounters));
    if (i + 1 < kGeometry.member_capacity) {
      CHECK(addr(&s->member(i + 1)) >= addr(s->member_host(i)) + kGeometry.member_host_bytes);
    }
  }
  CHECK(addr(s->balancer_host(1)) + kGeometry.balancer_host_bytes <= addr(&s->member(0)));
  CHECK(addr(s->member_host(4)) + kGeometry.member_host_bytes <= addr(m.base) + n);

  s->member(3).elected = 7;
  std::memset(s->member_host(3), 0xab, kGeometry.member_host_bytes);
  std::string why;
  auto again = SharedState::attach(m.base, n, &why);
  REQUIRE(again);
  CHECK(again->member(3).elected.load() == 7);
  CHECK(static_cast<unsigned char*>(again->member_host(3))[0] == 0xab);
  CHECK(again->member(2).elected.load() == 0);
}

TEST_CASE("segment: attach refuses what is not a valid segment", "[shm]") {
  auto n = *SharedState::bytes_needed(kGeometry);
  Mapping m(n);
  std::string why;
  CHECK(!SharedState::attach(m.base, n, &why));
  CHECK(why.find("magic") != std::string::npos);
  REQUIRE(SharedState::create(m.base, n, kGeometry, 1));
  CHECK(!SharedState::attach(m.base, n - 64, &why));
  CHECK(why.find("shorter") != std::string::npos);
  CHECK(!SharedState::create(m.base, n - 1, kGeometry, 1));
  CHECK(!SharedState::create(static_cast<char*>(m.base) + 8, n - 8, kGeometry, 1));
  static_cast<SegmentHeader*>(m.base)->layout_version += 1;
  CHECK(!SharedState::attach(m.base, n, &why));
  CHECK(why.find("version") != std::string::npos);
}

TEST_CASE("segment: counters add up exactly across forked processes", "[shm][fork]") {
  auto n = *SharedState::bytes_needed(kGeometry);
  Mapping m(n);
  auto s = SharedState::create(m.base, n, kGeometry, 1);
  REQUIRE(s);
  constexpr int kChildren = 8;
  constexpr int kRounds = 20000;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The child re-validates the inherited mapping, as an httpd child does.
      auto view = SharedState::attach(m.base, n, nullptr);
      if (!view) _exit(2);
      for (int i = 0; i < kRounds; ++i) {
        view->member(static_cast<std::uint32_t>(i % 5)).elected.fetch_add(1);
        view->member(0).busy.fetch_add(1);
        view->member(0).busy.fetch_sub(1);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < 5; ++i) {
    CHECK(s->member(i).elected.load() == kChildren * kRounds / 5);
    total += s->member(i).elected.load();
  }
  CHECK(total == kChildren * kRounds);
  CHECK(s->member(0).busy.load() == 0);
}

TEST_CASE("byrequests picks from forked processes keep the weights exactly", "[shm][fork]") {
  // Three members with weights 1:2:5 picked by 4 processes at once. The credit sum
  // is conserved by atomic updates, so the shares come out exact over whole rounds.
  auto n = *SharedState::bytes_needed({0, 3, 0, 0});
  Mapping m(n);
  auto s = SharedState::create(m.base, n, {0, 3, 0, 0}, 1);
  REQUIRE(s);
  const Selector* sel = find_selector("byrequests");
  constexpr int kChildren = 4;
  constexpr int kPicks = 8000;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      Candidate cands[3] = {
          {0, 100, 0, &s->member(0)}, {1, 200, 0, &s->member(1)}, {2, 500, 0, &s->member(2)}};
      for (int i = 0; i < kPicks; ++i) {
        std::size_t pos = sel->pick(cands, PickContext{});
        cands[pos].counters->elected.fetch_add(1);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WEXITSTATUS(status) == 0);
  }
  const double total = kChildren * kPicks;
  std::int64_t credit = 0;
  for (std::uint32_t i = 0; i < 3; ++i) credit += s->member(i).lbstatus.load();
  CHECK(credit == 0);  // nothing lost between processes
  auto share = [&](std::uint32_t i) {
    return static_cast<double>(s->member(i).elected.load()) / total;
  };
  CHECK(std::abs(share(0) - 1.0 / 8) < 0.005);
  CHECK(std::abs(share(1) - 2.0 / 8) < 0.005);
  CHECK(std::abs(share(2) - 5.0 / 8) < 0.005);
}

namespace {

const SegmentGeometry kLedgerGeometry{1, 3, 64, 64, 4};

constexpr std::size_t round_up_to_slot(std::size_t n) {
  return (n + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
}

bool alive_per_kill(std::int64_t pid) {
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

TEST_CASE("busy ledger: rows are claimed, bounded, released with what they hold", "[shm]") {
  auto n = *SharedState::bytes_needed(kLedgerGeometry);
  CHECK(n > *SharedState::bytes_needed({1, 3, 64, 64, 0}));
  CHECK(!SharedState::bytes_needed({1, 3, 64, 64, kMaxProcessRows + 1}));
  Mapping m(n);
  auto s = SharedState::create(m.base, n, kLedgerGeometry, 1);
  REQUIRE(s);
  auto r0 = s->claim_process_row(100);
  auto r1 = s->claim_process_row(101);
  REQUIRE((r0 && r1 && *r0 != *r1));
  CHECK(!s->claim_process_row(0));
  CHECK(s->claim_process_row(102));
  CHECK(s->claim_process_row(103));
  CHECK(!s->claim_process_row(104));  // four rows, all taken

  auto t1 = s->acquire_busy(r0, 2);
  auto t2 = s->acquire_busy(r0, 2);
  auto t3 = s->acquire_busy(r1, 2);
  auto t4 = s->acquire_busy(std::nullopt, 1);  // a process without a row still counts
  CHECK(s->member(2).busy.load() == 3);
  CHECK(s->held(*r0, 2).load() == 2);
  SharedState::release_busy(t1);
  SharedState::release_busy(t4);
  CHECK(s->member(1).busy.load() == 0);
  CHECK(s->member(2).busy.load() == 2);

  // Owner 100 dies holding one count; 101 lives on.
  auto dead = +[](std::int64_t pid) { return pid != 100; };
  CHECK(s->reclaim_dead_rows(dead).busy == 1);
  CHECK(s->member(2).busy.load() == 1);
  CHECK(s->process_row(*r0).owner.load() == 0);
  CHECK(s->held(*r0, 2).load() == 0);
  CHECK(!s->reclaim_dead_rows(dead).any());
  CHECK(s->claim_process_row(105) == r0);  // the freed row is claimed again
  (void)t2;                                // died with its owner

  SharedState::release_busy(t3);
  s->release_process_row(*r1);
  CHECK(s->member(2).busy.load() == 0);
  CHECK(s->process_row(*r1).owner.load() == 0);
}

TEST_CASE("busy ledger: a process killed mid-request gives its busy counts back", "[shm][fork]") {
  auto n = *SharedState::bytes_needed(kLedgerGeometry);
  Mapping m(n);
  auto s = SharedState::create(m.base, n, kLedgerGeometry, 1);
  REQUIRE(s);
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto view = SharedState::attach(m.base, n, nullptr);
    if (!view) _exit(2);
    auto row = view->claim_process_row(getpid());
    if (!row) _exit(3);
    view->acquire_busy(row, 0);
    view->acquire_busy(row, 0);
    SharedState::release_busy(view->acquire_busy(row, 1));
    view->acquire_busy(row, 2);
    char c = 'x';
    if (write(ready[1], &c, 1) != 1) _exit(4);
    pause();  // "mid-request": killed here
    _exit(5);
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  close(ready[0]);
  close(ready[1]);
  CHECK(s->member(0).busy.load() == 2);
  CHECK(!s->reclaim_dead_rows(&alive_per_kill).any());  // still alive: nothing taken
  REQUIRE(kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  const Reclaimed back = s->reclaim_dead_rows(&alive_per_kill);
  CHECK(back.busy == 3);
  CHECK(back.in_flight == 0);
  CHECK(back.retries_in_flight == 0);
  for (std::uint32_t i = 0; i < 3; ++i) CHECK(s->member(i).busy.load() == 0);
}

TEST_CASE("ledger: a row holds a busy count per member, then two budget counts per balancer",
          "[shm]") {
  // 8 balancers, 12 members, 3 rows: a row is its 64-byte head, 12 x 4 bytes of
  // busy counts and 8 x 8 of retry-budget counts (176), rounded up to 192; it
  // was 128 before the budget counts were added, with layout version 5 already.
  const SegmentGeometry g{8, 12, 0, 0, 3};
  const std::size_t n = *SharedState::bytes_needed(g);
  CHECK(n == round_up_to_slot(sizeof(SegmentHeader)) + 8 * sizeof(BalancerCounters) +
                 12 * sizeof(MemberCounters) + 3 * 192);
  Mapping m(n);
  auto s = SharedState::create(m.base, n, g, 1);
  REQUIRE(s);
  CHECK(s->header().process_row_bytes == 192);
  auto addr = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p); };
  for (std::uint32_t r = 0; r < 3; ++r) {
    CHECK(addr(&s->process_row(r)) % kSlotAlign == 0);
    CHECK(addr(&s->held(r, 0)) == addr(&s->process_row(r)) + sizeof(ProcessRow));
    CHECK(addr(&s->budget_held(r, 0)) == addr(&s->held(r, 11)) + 4);
    const std::uintptr_t end = addr(&s->budget_held(r, 7)) + sizeof(BudgetHeld);
    CHECK(end <= (r + 1 < 3 ? addr(&s->process_row(r + 1)) : addr(m.base) + n));
  }
  CHECK(s->budget_held(std::nullopt, 3) == nullptr);
  CHECK(s->budget_held(std::optional<std::uint32_t>{1}, 3) == &s->budget_held(1, 3));

  // A segment recorded with the rows of before (same version, 128-byte rows) is
  // refused, not misread.
  auto* h = static_cast<SegmentHeader*>(m.base);
  h->process_row_bytes = 128;
  h->total_bytes -= 3 * 64;
  std::string why;
  CHECK(!SharedState::attach(m.base, n, &why));
  CHECK(why.find("inconsistent") != std::string::npos);
}

TEST_CASE("ledger: a dead row's retry-budget counts are given back, a live row's are not",
          "[shm][budget]") {
  Segment seg({2, 3, 0, 0, 4});
  SharedState* s = &seg.state;
  BalancerCounters& b0 = s->balancer(0);
  BalancerCounters& b1 = s->balancer(1);
  b0.retry_budget_percent = 0;
  b0.retry_budget_floor = 2;  // two failovers at a time, whatever the traffic
  auto r0 = s->claim_process_row(100);
  auto r1 = s->claim_process_row(101);
  auto r2 = s->claim_process_row(102);
  REQUIRE((r0 && r1 && r2));
  BudgetHeld* h0 = s->budget_held(r0, 0);
  BudgetHeld* h1 = s->budget_held(r1, 0);

  // 100: three requests on b0, two of them failing over (the budget's two), one on b1.
  for (int i = 0; i < 3; ++i) budget_enter(b0, h0);
  CHECK(admit_failover(b0, h0));
  CHECK(admit_failover(b0, h0));
  CHECK(admit_another_failover(b0, h0));  // a second failover keeps its count
  budget_enter(b1, s->budget_held(r0, 1));
  // 101: one request on b0, refused a failover (the budget is spent), another
  // that ends; a process without a row counts all the same.
  budget_enter(b0, h1);
  budget_enter(b0, h1);
  CHECK_FALSE(admit_failover(b0, h1));
  budget_leave(b0, false, h1);
  budget_enter(b0, s->budget_held(std::nullopt, 0));
  CHECK(b0.in_flight.load() == 5);
  CHECK(b0.retries_in_flight.load() == 2);
  CHECK(h0->in_flight.load() == 3);
  CHECK(h0->retries_in_flight.load() == 2);
  CHECK(h1->in_flight.load() == 1);
  CHECK(h1->retries_in_flight.load() == 0);

  // 100 dies: its counts go back, 101's (alive) and the row-less one stay.
  auto dead = +[](std::int64_t pid) { return pid != 100; };
  const Reclaimed back = s->reclaim_dead_rows(dead);
  CHECK(back.busy == 0);
  CHECK(back.in_flight == 4);
  CHECK(back.retries_in_flight == 2);
  CHECK(b0.in_flight.load() == 2);
  CHECK(b0.retries_in_flight.load() == 0);
  CHECK(b1.in_flight.load() == 0);
  CHECK(h0->in_flight.load() == 0);
  CHECK(h0->retries_in_flight.load() == 0);
  CHECK(s->budget_held(*r0, 1).in_flight.load() == 0);
  CHECK(s->process_row(*r0).owner.load() == 0);
  CHECK(!s->reclaim_dead_rows(dead).any());
  // The failovers it held no longer spend the budget.
  CHECK(admit_failover(b0, h1));
  CHECK(b0.retries_in_flight.load() == 1);

  // 101 exits normally with its request still counted: the release gives it back.
  s->release_process_row(*r1);
  CHECK(b0.in_flight.load() == 1);  // the row-less process's request
  CHECK(b0.retries_in_flight.load() == 0);
  CHECK(h1->in_flight.load() == 0);
  CHECK(s->process_row(*r1).owner.load() == 0);
  budget_leave(b0, false, nullptr);
  CHECK(b0.in_flight.load() == 0);
  CHECK(s->process_row(*r2).owner.load() == 102);  // untouched throughout
}

TEST_CASE("ledger: a process killed mid-failover gives its retry-budget counts back",
          "[shm][budget][fork]") {
  Segment seg({2, 3, 0, 0, 4});
  SharedState* s = &seg.state;
  // retryfloor=1 and no percentage: one failover at a time on balancer 1.
  s->balancer(1).retry_budget_percent = 0;
  s->balancer(1).retry_budget_floor = 1;
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto view = SharedState::attach(seg.memory.base, seg.memory.size, nullptr);
    if (!view) _exit(2);
    auto row = view->claim_process_row(getpid());
    if (!row) _exit(3);
    BalancerCounters& b = view->balancer(1);
    BudgetHeld* held = view->budget_held(row, 1);
    // Three requests: one ends, one fails over (and again), one is refused.
    for (int i = 0; i < 3; ++i) budget_enter(b, held);
    budget_leave(b, false, held);
    if (!admit_failover(b, held) || !admit_another_failover(b, held)) _exit(4);
    if (admit_failover(b, held)) _exit(5);
    view->acquire_busy(row, 2);
    budget_enter(view->balancer(0), view->budget_held(row, 0));
    char c = 'x';
    if (write(ready[1], &c, 1) != 1) _exit(6);
    pause();  // mid-failover: killed here
    _exit(7);
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  close(ready[0]);
  close(ready[1]);
  BalancerCounters& b = s->balancer(1);
  CHECK(b.in_flight.load() == 2);
  CHECK(b.retries_in_flight.load() == 1);
  CHECK(!s->reclaim_dead_rows(&alive_per_kill).any());  // still alive: nothing taken
  // Meanwhile this process's failovers are refused: the budget is spent.
  budget_enter(b);
  CHECK_FALSE(admit_failover(b));

  REQUIRE(kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  const Reclaimed back = s->reclaim_dead_rows(&alive_per_kill);
  CHECK(back.busy == 1);
  CHECK(back.in_flight == 3);
  CHECK(back.retries_in_flight == 1);
  CHECK(b.in_flight.load() == 1);  // this process's request
  CHECK(b.retries_in_flight.load() == 0);
  CHECK(s->balancer(0).in_flight.load() == 0);
  CHECK(s->member(2).busy.load() == 0);
  // The killed child's failover no longer spends the budget.
  CHECK(admit_failover(b));
  budget_leave(b, true);
  CHECK(b.in_flight.load() == 0);
  CHECK(b.retries_in_flight.load() == 0);
}

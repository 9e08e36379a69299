#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "core/policy/selector.hpp"
#include "core/shm/shared_state.hpp"
#include "segment.hpp"

using namespace isb;
using isb::test::Mapping;

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
  CHECK(s->reclaim_dead_rows(dead) == 1);
  CHECK(s->member(2).busy.load() == 1);
  CHECK(s->process_row(*r0).owner.load() == 0);
  CHECK(s->held(*r0, 2).load() == 0);
  CHECK(s->reclaim_dead_rows(dead) == 0);
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
  CHECK(s->reclaim_dead_rows(&alive_per_kill) == 0);  // still alive: nothing taken
  REQUIRE(kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(s->reclaim_dead_rows(&alive_per_kill) == 3);
  for (std::uint32_t i = 0; i < 3; ++i) CHECK(s->member(i).busy.load() == 0);
}

// The balancer edit lock (core/shm/edit_lock.hpp) across real processes: one
// holder at a time, bounded waits, and a holder that died is taken over.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "core/shm/edit_lock.hpp"

using namespace isb;
using namespace std::chrono_literals;

namespace {

struct SharedCounters {
  BalancerCounters* c = nullptr;
  SharedCounters() {
    void* p = mmap(nullptr, sizeof(BalancerCounters), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    c = new (p) BalancerCounters();
  }
  ~SharedCounters() { munmap(c, sizeof(BalancerCounters)); }
};

}  // namespace

TEST_CASE("edit lock: one holder; released when it goes out of scope", "[shm][lock]") {
  SharedCounters s;
  {
    EditLock a(*s.c);
    REQUIRE(a.acquire(0us));
    CHECK(s.c->edit_owner.load() == ::getpid());
    EditLock b(*s.c);  // the same process's other thread: waits, never steals
    const auto start = std::chrono::steady_clock::now();
    CHECK(!b.acquire(20ms));
    CHECK(std::chrono::steady_clock::now() - start >= 20ms);
  }
  CHECK(s.c->edit_owner.load() == 0);
}

TEST_CASE("edit lock: a live holder in another process blocks, a dead one is taken over",
          "[shm][lock]") {
  SharedCounters s;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    EditLock lock(*s.c);
    const bool got = lock.acquire(1s);
    char byte = got ? 1 : 0;
    (void)!::write(ready[1], &byte, 1);
    ::pause();  // holds the lock until killed: a child killed mid-edit
    ::_exit(0);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  REQUIRE(byte == 1);
  CHECK(s.c->edit_owner.load() == child);
  {
    EditLock mine(*s.c);
    CHECK(!mine.acquire(30ms));  // alive: not taken
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EditLock mine(*s.c);
  CHECK(mine.acquire(1s));  // its owner is gone: taken over at once
  CHECK(s.c->edit_owner.load() == ::getpid());
  ::close(ready[0]);
  ::close(ready[1]);
}

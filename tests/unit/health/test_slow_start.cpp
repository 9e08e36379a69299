// Slow start (core/health/slow_start.hpp): the ramp at exact times, the service
// clock's transitions, and the ramp reaching every method through the weight.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>

#include "core/health/slow_start.hpp"
#include "fake_table.hpp"

using namespace isb;
using namespace isb::test;

namespace {

constexpr std::int64_t kSecond = 1'000'000;

}  // namespace

TEST_CASE("slow start: the ramp is linear from a 10 % floor", "[health][slowstart]") {
  constexpr std::int64_t w = 100;
  constexpr std::int64_t since = 50 * kSecond;
  constexpr std::int64_t window = 10 * kSecond;
  auto at = [&](std::int64_t t_us) { return slow_start_weight(w, since, window, since + t_us); };
  CHECK(at(0) == 10);
  CHECK(at(kSecond) == 10);  // 10 % until the line passes the floor
  CHECK(at(2 * kSecond + kSecond / 2) == 25);
  CHECK(at(5 * kSecond) == 50);
  CHECK(at(10 * kSecond - 1) == 99);
  CHECK(at(10 * kSecond) == 100);
  CHECK(at(3600 * kSecond) == 100);
  CHECK(at(-kSecond) == 10);  // another process's clock a little behind
  // No window, or in service since before the segment: the full weight.
  CHECK(slow_start_weight(w, since, 0, since) == w);
  CHECK(slow_start_weight(w, 0, window, since) == w);
  // Never below 1, so methods can divide by it.
  CHECK(slow_start_weight(1, since, window, since) == 1);
  static_assert(slow_start_weight(200, 1, 1000, 501) == 100);
}

TEST_CASE("slow start: the service clock follows what balancing sees", "[health][slowstart]") {
  MemberCounters c;
  note_service(c, true, 5 * kSecond);
  CHECK(c.in_service_since_us.load() == 0);  // in service from the start: no ramp
  note_service(c, false, 6 * kSecond);
  // The clock runs without a window, so that one set while the member is out
  // still ramps it when it comes back.
  CHECK(c.in_service_since_us.load() == kOutOfService);
  c.slowstart_us.store(10 * kSecond);
  note_service(c, false, 7 * kSecond);
  CHECK(c.in_service_since_us.load() == kOutOfService);
  note_service(c, true, 8 * kSecond);
  CHECK(c.in_service_since_us.load() == 8 * kSecond);
  note_service(c, true, 9 * kSecond);  // the first to see it in service set the time
  CHECK(c.in_service_since_us.load() == 8 * kSecond);
  CHECK(effective_weight(c, 100, 13 * kSecond) == 50);
  CHECK(effective_weight(c, 100, 18 * kSecond) == 100);
  c.slowstart_us.store(0);
  CHECK(effective_weight(c, 100, 13 * kSecond) == 100);  // no window: no ramp
}

TEST_CASE("slow start: at httpd's start only when set to", "[health][slowstart]") {
  MemberCounters plain;
  plain.slowstart_us.store(10 * kSecond);
  note_segment_start(plain, 5 * kSecond);
  CHECK(plain.in_service_since_us.load() == 0);  // in service since before: no ramp
  CHECK(effective_weight(plain, 100, 6 * kSecond) == 100);
  MemberCounters ramped;
  ramped.slowstart_us.store(10 * kSecond);
  ramped.slowstart_at_start.store(1);
  note_segment_start(ramped, 5 * kSecond);
  CHECK(ramped.in_service_since_us.load() == 5 * kSecond);
  CHECK(effective_weight(ramped, 100, 10 * kSecond) == 50);
  note_service(ramped, true, 11 * kSecond);  // seen in service: the same ramp goes on
  CHECK(effective_weight(ramped, 100, 11 * kSecond) == 60);
}

TEST_CASE("slow start: an edit tells the clock at once", "[health][slowstart]") {
  MemberCounters c;
  c.slowstart_us.store(10 * kSecond);
  note_edit(c, true, true, 5 * kSecond);  // no change of service: nothing
  CHECK(c.in_service_since_us.load() == 0);
  note_edit(c, true, false, 5 * kSecond);
  CHECK(c.in_service_since_us.load() == kOutOfService);
  note_edit(c, false, true, 6 * kSecond);  // back, whether or not a request saw it out
  CHECK(c.in_service_since_us.load() == 6 * kSecond);
  c.in_service_since_us.store(0);
  note_edit(c, false, true, 7 * kSecond);
  CHECK(c.in_service_since_us.load() == 7 * kSecond);
}

TEST_CASE("slow start: in service means nothing keeps new sessions away", "[health][slowstart]") {
  CHECK(in_service(0));
  CHECK(in_service(kInitialized | kHotStandby | kIgnoreErrors));
  for (std::uint32_t out : {kDisabled, kStopped, kInError, kHcFail, kDrain, kInShutdown}) {
    CAPTURE(out);
    CHECK_FALSE(in_service(kInitialized | out));
  }
}

TEST_CASE("slow start: a member back from its retry interval ramps in every method",
          "[health][slowstart]") {
  for (std::string_view method : {"byrequests", "bytraffic", "leastrequest", "bylatency"}) {
    CAPTURE(method);
    seed_selector_random(7);
    FakeTable t;
    for (const char* name : {"a", "b", "c"}) t.add(name).counters.slowstart_us.store(10 * kSecond);
    // c fails at 100 s and is seen out of service; its retry (5 s) ends at 105 s.
    t[2].status |= kInError;
    t[2].error_time = 100 * kSecond;
    t[2].retry = 5 * kSecond;
    CHECK(shares(picks(t, method, 10, 101 * kSecond)).count("c") == 0);
    CHECK(t[2].counters.in_service_since_us.load() == kOutOfService);
    // Just after: at its 10 % floor, c takes about 10 / 210 of new requests ...
    const int early = shares(picks(t, method, 2100, 105 * kSecond + 1))["c"];
    CHECK(t[2].counters.in_service_since_us.load() == 105 * kSecond + 1);
    // ... half-way, 50 / 250; and after the window, its third.
    const int half = shares(picks(t, method, 2500, 110 * kSecond + 1))["c"];
    const int full = shares(picks(t, method, 3000, 116 * kSecond))["c"];
    CAPTURE(early, half, full);
    if (method == "leastrequest" || method == "bylatency") {
      // Nothing completes in this replay, so in-flight counts only grow and the
      // ranking methods show the ramp as an order, not as exact shares.
      CHECK(early < half);
      CHECK(half < full);
    } else if (method == "bytraffic") {
      CHECK(early <= half);  // no bytes move in this replay: the weight alone decides
    } else {
      CHECK(early == 100);
      CHECK(half == 500);
      CHECK(full == 1000);
    }
  }
}

TEST_CASE("slow start: bybusyness holds back an idle member while it ramps",
          "[health][slowstart]") {
  FakeTable t;
  for (const char* name : {"a", "b", "c"}) t.add(name).counters.slowstart_us.store(10 * kSecond);
  t[0].counters.busy.store(4);
  t[1].counters.busy.store(4);
  t[2].status |= kDisabled;  // an operator took c out ...
  CHECK(picks(t, "bybusyness", 1, 100 * kSecond) != Names{"c"});
  t[2].status &= ~static_cast<std::uint32_t>(kDisabled);  // ... and puts it back at 101 s
  // Idle, c would take every request at once (stock). At 10 % its load counts
  // as 1 x 10 = 10 against the others' 5; at 60 %, 1.67: it wins.
  const Names early = picks(t, "bybusyness", 4, 101 * kSecond);
  CHECK(std::count(early.begin(), early.end(), "c") == 0);
  CHECK(picks(t, "bybusyness", 1, 107 * kSecond) == Names{"c"});
  t[2].counters.slowstart_us.store(0);  // without slow start: the idlest, at once
  t[2].status |= kDisabled;
  picks(t, "bybusyness", 1, 120 * kSecond);
  t[2].status &= ~static_cast<std::uint32_t>(kDisabled);
  CHECK(picks(t, "bybusyness", 1, 121 * kSecond) == Names{"c"});
}

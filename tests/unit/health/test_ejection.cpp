// Outlier ejection (core/health/ejection.hpp): counting answers, the backoff
// and its decay at exact times, the cap with members down for other reasons,
// and what routing does with an ejected member.
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "core/health/ejection.hpp"
#include "fake_table.hpp"

using namespace isb;
using namespace isb::test;

namespace {

constexpr std::int64_t kSecond = 1'000'000;

// A table of `n` members "m0".. with ejection after 5 consecutive 5xx or 3
// gateway failures, 30 s base, 300 s longest, and its balancer's counters.
struct Fixture {
  FakeTable t;
  BalancerCounters b;
  explicit Fixture(int n, std::int64_t percent = 10) {
    for (int i = 0; i < n; ++i) {
      std::string name = "m";
      name += std::to_string(i);
      MemberCounters& c = t.add(name).counters;
      c.eject_5xx.store(5);
      c.eject_gateway.store(3);
      c.eject_time_us.store(30 * kSecond);
      c.eject_max_us.store(300 * kSecond);
    }
    b.eject_percent.store(percent);
  }
  // Feeds member i `count` answers of kind `a` at `now`; returns the last
  // try_eject's outcome, if one ran.
  std::optional<EjectResult> feed(std::size_t i, Answer a, int count, std::int64_t now) {
    std::optional<EjectResult> last;
    for (int k = 0; k < count; ++k) {
      const CountedAnswer c = count_answer(t.counters(i), a, now);
      if (c.threshold) last = try_eject(t, i, b, now);
    }
    return last;
  }
};

}  // namespace

TEST_CASE("ejection: answers are good, 5xx or gateway failures", "[health][ejection]") {
  CHECK(classify_answer(200, false) == Answer::kGood);
  CHECK(classify_answer(404, false) == Answer::kGood);
  CHECK(classify_answer(499, false) == Answer::kGood);
  CHECK(classify_answer(500, false) == Answer::k5xx);
  CHECK(classify_answer(501, false) == Answer::k5xx);
  CHECK(classify_answer(599, false) == Answer::k5xx);
  for (int s : {502, 503, 504}) CHECK(classify_answer(s, false) == Answer::kGateway);
  CHECK(classify_answer(200, true) == Answer::kGateway);  // a timeout, whatever was sent
  CHECK(classify_answer(600, false) == Answer::kGood);
}

TEST_CASE("ejection: consecutive counts, cleared by a good answer", "[health][ejection]") {
  MemberCounters c;
  c.eject_5xx.store(5);
  c.eject_gateway.store(3);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(count_answer(c, Answer::k5xx, 0).threshold);
  CHECK(count_answer(c, Answer::kGood, 0).threshold == false);
  CHECK(c.consecutive_5xx.load() == 0);
  // A gateway failure is a 5xx too; another 5xx breaks a run of gateway failures.
  count_answer(c, Answer::kGateway, 0);
  count_answer(c, Answer::kGateway, 0);
  CHECK(c.consecutive_gateway.load() == 2);
  count_answer(c, Answer::k5xx, 0);
  CHECK(c.consecutive_gateway.load() == 0);
  CHECK(c.consecutive_5xx.load() == 3);
  count_answer(c, Answer::k5xx, 0);
  const CountedAnswer at5 = count_answer(c, Answer::k5xx, 0);
  CHECK(at5.threshold);
  CHECK(at5.reason == EjectReason::k5xx);
  CHECK(at5.count == 5);
  // The gateway rule is checked first when both are reached.
  MemberCounters g;
  g.eject_5xx.store(3);
  g.eject_gateway.store(3);
  count_answer(g, Answer::kGateway, 0);
  count_answer(g, Answer::kGateway, 0);
  CHECK(count_answer(g, Answer::kGateway, 0).reason == EjectReason::kGateway);
  // Threshold 0: counted (the page shows it), never ejects.
  MemberCounters off;
  for (int i = 0; i < 100; ++i) CHECK_FALSE(count_answer(off, Answer::kGateway, 0).threshold);
  CHECK(off.consecutive_gateway.load() == 100);
}

TEST_CASE("ejection: the failure-rate rule judges a moving share of answers",
          "[health][ejection]") {
  MemberCounters c;
  c.eject_fail_percent.store(40);
  c.eject_min_requests.store(20);
  // Every second answer fails: never a run of two, but half of them. The moving
  // share (weight 1/20) climbs from 0 towards 50 % and passes 40 % at the 30th
  // answer (40.27 %), a failed one.
  const std::int64_t now = 100 * kSecond;
  std::optional<CountedAnswer> hit;
  int answers = 0;
  while (answers < 100 && !hit) {
    const CountedAnswer a = count_answer(c, answers % 2 ? Answer::k5xx : Answer::kGood, now);
    ++answers;
    if (a.threshold) hit = a;
  }
  REQUIRE(hit);
  CHECK(answers == 30);
  CHECK(hit->reason == EjectReason::kFailureRate);
  CHECK(hit->count == 40);
  CHECK(hit->answers == 20);
  CHECK(counted_text(*hit) == "a 5xx share of 40 % over its last 20 or so answers");
  // A share below the threshold never ejects, however many answers: one in
  // three peaks at 35 %.
  MemberCounters low;
  low.eject_fail_percent.store(40);
  low.eject_min_requests.store(20);
  for (int i = 0; i < 1000; ++i) {
    CHECK_FALSE(count_answer(low, i % 3 == 0 ? Answer::k5xx : Answer::kGood, now).threshold);
  }
  // Not judged before N answers, even when all of them fail ...
  MemberCounters early;
  early.eject_fail_percent.store(50);
  early.eject_min_requests.store(4);
  for (int i = 0; i < 3; ++i) CHECK_FALSE(count_answer(early, Answer::k5xx, now).threshold);
  CHECK(count_answer(early, Answer::k5xx, now).threshold);  // 1 - (3/4)^4 = 68 %
  // 100 %: the average only nears it, but N failures in a row are all of the
  // last N answers.
  MemberCounters all;
  all.eject_fail_percent.store(100);
  all.eject_min_requests.store(5);
  count_answer(all, Answer::kGood, now);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(count_answer(all, Answer::k5xx, now).threshold);
  CHECK(count_answer(all, Answer::k5xx, now).threshold);
  // The average reaches 0 again after a long good spell (no floor left).
  for (int i = 0; i < 10'000; ++i) count_answer(all, Answer::kGood, now);
  CHECK(all.fail_rate_ppm.load() == 0);
  // ... and a member healthy for a long time is caught as soon as its recent
  // answers turn: the average forgets old answers.
  MemberCounters old;
  old.eject_fail_percent.store(50);
  old.eject_min_requests.store(10);
  for (int i = 0; i < 100'000; ++i) count_answer(old, Answer::kGood, now);
  int failures = 0;
  while (failures < 100 && !count_answer(old, Answer::k5xx, now).threshold) ++failures;
  CHECK(failures == 6);  // the 7th failure in a row: 1 - 0.9^7 = 52 %
  // Off (0): nothing is kept.
  MemberCounters off;
  for (int i = 0; i < 100; ++i) count_answer(off, Answer::k5xx, now);
  CHECK(off.rate_answers.load() == 0);
  CHECK(off.fail_rate_ppm.load() == 0);
  CHECK(counted_text({true, EjectReason::kGateway, 3, 0}) == "3 consecutive gateway failures");
  CHECK(counted_text({true, EjectReason::k5xx, 5, 0}) == "5 consecutive 5xx answers");
}

TEST_CASE("ejection: the backoff grows with each ejection and decays while in",
          "[health][ejection]") {
  constexpr std::int64_t base = 30 * kSecond;
  constexpr std::int64_t max = 300 * kSecond;
  CHECK(eject_duration(1, base, max) == 30 * kSecond);
  CHECK(eject_duration(2, base, max) == 60 * kSecond);
  CHECK(eject_duration(10, base, max) == 300 * kSecond);
  CHECK(eject_duration(1'000'000'000'000, base, max) == max);    // no overflow
  CHECK(eject_duration(1, base, 10 * kSecond) == 10 * kSecond);  // the longest is the longest
  // One more than last time, less one per base interval since it ended.
  CHECK(next_eject_level(0, 0, base, max, 1000 * kSecond) == 1);
  CHECK(next_eject_level(3, 100 * kSecond, base, max, 100 * kSecond) == 4);
  CHECK(next_eject_level(3, 100 * kSecond, base, max, 129 * kSecond) == 4);
  CHECK(next_eject_level(3, 100 * kSecond, base, max, 130 * kSecond) == 3);
  CHECK(next_eject_level(3, 100 * kSecond, base, max, 190 * kSecond) == 1);
  CHECK(next_eject_level(3, 100 * kSecond, base, max, 10'000 * kSecond) == 1);
  // No higher than the level that reaches the longest ejection: a member that
  // flapped fifty times is back to the base time after as many intervals as
  // the longest ejection holds, not fifty.
  CHECK(max_eject_level(base, max) == 10);
  CHECK(max_eject_level(base, 301 * kSecond) == 11);
  CHECK(max_eject_level(base, kSecond) == 1);
  CHECK(next_eject_level(50, 100 * kSecond, base, max, 100 * kSecond) == 10);
  CHECK(next_eject_level(10, 100 * kSecond, base, max, 100 * kSecond + 10 * base) == 1);

  Fixture f(10, 50);
  MemberCounters& c = f.t.counters(0);
  auto r = f.feed(0, Answer::kGateway, 3, 100 * kSecond);
  REQUIRE(r);
  CHECK(r->outcome == EjectOutcome::kEjected);
  CHECK(r->level == 1);
  CHECK(c.ejected_until_us.load() == 130 * kSecond);
  CHECK(is_ejected(c, 129 * kSecond));
  CHECK_FALSE(is_ejected(c, 130 * kSecond));
  CHECK(c.ejections.load() == 1);
  CHECK(c.consecutive_gateway.load() == 0);
  // Failing again at once after it is back: twice as long.
  r = f.feed(0, Answer::kGateway, 3, 131 * kSecond);
  CHECK(r->level == 2);
  CHECK(c.ejected_until_us.load() == 191 * kSecond);
  // Failures while ejected (sessions that stayed) do not eject it again.
  CHECK_FALSE(f.feed(0, Answer::kGateway, 3, 150 * kSecond));
  CHECK(c.ejected_until_us.load() == 191 * kSecond);
  // Healthy for 60 s after the second: the level is back to 0, so 1 again.
  r = f.feed(0, Answer::k5xx, 5, 251 * kSecond);
  CHECK(r->outcome == EjectOutcome::kEjected);
  CHECK(r->level == 1);
  CHECK(c.ejections.load() == 3);
}

TEST_CASE("ejection: failures while ejected do not count towards the next one",
          "[health][ejection]") {
  Fixture f(3, 100);
  MemberCounters& c = f.t.counters(0);
  REQUIRE(f.feed(0, Answer::k5xx, 5, 100 * kSecond)->outcome == EjectOutcome::kEjected);
  // Its sessions stay (ejectsessions=1) and keep failing while it is out ...
  CHECK_FALSE(f.feed(0, Answer::k5xx, 20, 110 * kSecond));
  CHECK(c.consecutive_5xx.load() == 0);
  // ... so once back it needs a whole run again.
  CHECK_FALSE(f.feed(0, Answer::k5xx, 4, 131 * kSecond));
  CHECK(f.feed(0, Answer::k5xx, 1, 131 * kSecond)->outcome == EjectOutcome::kEjected);
  // A run that reaches its threshold as another process ejects it starts again.
  c.consecutive_5xx.store(5);
  CHECK(try_eject(f.t, 0, f.b, 140 * kSecond).outcome == EjectOutcome::kAlready);
  CHECK(c.consecutive_5xx.load() == 0);
  // An operator ends an ejection at once; the level stays for next time.
  end_ejection(c);
  CHECK_FALSE(is_ejected(c, 140 * kSecond));
  CHECK(c.eject_level.load() == 2);
}

TEST_CASE("ejection: the cap counts members down for other reasons", "[health][ejection]") {
  // Four members, three failing, at most 50 % out: two are ejected, the third
  // stays in and its count starts again.
  Fixture f(4, 50);
  const std::int64_t now = 100 * kSecond;
  CHECK(f.feed(0, Answer::kGateway, 3, now)->outcome == EjectOutcome::kEjected);
  CHECK(f.feed(1, Answer::kGateway, 3, now)->outcome == EjectOutcome::kEjected);
  const auto capped = f.feed(2, Answer::kGateway, 3, now);
  CHECK(capped->outcome == EjectOutcome::kCapped);
  CHECK(capped->out == 2);
  CHECK(capped->limit == 2);
  CHECK(f.t.counters(2).ejections_capped.load() == 1);
  CHECK(f.t.counters(2).consecutive_gateway.load() == 0);
  CHECK_FALSE(is_ejected(f.t.counters(2), now));

  // A disabled member and one whose health check failed take the room.
  Fixture g(4, 50);
  g.t[1].status |= kDisabled;
  g.t[2].status |= kHcFail;
  CHECK(g.feed(0, Answer::k5xx, 5, now)->outcome == EjectOutcome::kCapped);
  g.t[2].status &= ~kHcFail;
  CHECK(g.feed(0, Answer::k5xx, 5, now)->outcome == EjectOutcome::kEjected);

  // 10 % of four members is less than one: one may still be out (Envoy's rule)
  // but only when nothing else is; 0 % ejects nothing.
  CHECK(eject_limit(4, 10) == 1);
  CHECK(eject_limit(20, 10) == 2);
  CHECK(eject_limit(4, 0) == 0);
  CHECK(eject_limit(4, 100) == 4);
  CHECK(eject_limit(0, 50) == 0);
  Fixture h(4, 10);
  CHECK(h.feed(0, Answer::k5xx, 5, now)->outcome == EjectOutcome::kEjected);
  CHECK(h.feed(1, Answer::k5xx, 5, now)->outcome == EjectOutcome::kCapped);
  Fixture none(4, 0);
  CHECK(none.feed(0, Answer::k5xx, 5, now)->outcome == EjectOutcome::kCapped);
  // When the first ejection ends, the room is there again.
  CHECK(h.feed(1, Answer::k5xx, 5, now + 30 * kSecond)->outcome == EjectOutcome::kEjected);
}

TEST_CASE("ejection: one decision at a time per balancer; a dead holder's lock is taken over",
          "[health][ejection]") {
  Fixture f(4, 100);
  constexpr std::int64_t now = 100 * kSecond;
  f.b.eject_lock_us.store(now - 10);  // another process is deciding
  CHECK(try_eject(f.t, 0, f.b, now).outcome == EjectOutcome::kBusy);
  CHECK_FALSE(is_ejected(f.t.counters(0), now));
  // Held for over a second: its holder died; taken over.
  CHECK(try_eject(f.t, 0, f.b, now + kEjectLockStaleUs).outcome == EjectOutcome::kEjected);
  CHECK(f.b.eject_lock_us.load() == 0);

  // Many threads failing members at once never eject more than the cap allows.
  for (int round = 0; round < 20; ++round) {
    Fixture g(8, 50);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < 8; ++i) {
      threads.emplace_back([&g, i] {
        for (int k = 0; k < 200; ++k) {
          const CountedAnswer c = count_answer(g.t.counters(i), Answer::kGateway, now);
          if (c.threshold) try_eject(g.t, i, g.b, now);
        }
      });
    }
    for (auto& th : threads) th.join();
    int ejected = 0;
    for (std::size_t i = 0; i < 8; ++i) ejected += is_ejected(g.t.counters(i), now) ? 1 : 0;
    CHECK(ejected == 4);
  }
}

TEST_CASE("ejection: an ejected member takes no new sessions, and comes back slow-starting",
          "[health][ejection]") {
  Fixture f(3, 50);
  for (std::size_t i = 0; i < 3; ++i) f.t.counters(i).slowstart_us.store(10 * kSecond);
  f.feed(2, Answer::kGateway, 3, 100 * kSecond);
  CHECK(shares(picks(f.t, "byrequests", 30, 101 * kSecond)).count("m2") == 0);
  CHECK(f.t.counters(2).in_service_since_us.load() == kOutOfService);
  // Back at 130 s, at its 10 % floor: 10 of 210 new requests.
  CHECK(shares(picks(f.t, "byrequests", 210, 130 * kSecond))["m2"] == 10);
  CHECK(f.t.counters(2).in_service_since_us.load() == 130 * kSecond);
}

TEST_CASE("ejection: spares stand in for an ejected member; ejection alone never empties",
          "[health][ejection]") {
  Fixture f(3, 100);
  f.t[2].status |= kHotSpare;
  f.feed(0, Answer::kGateway, 3, 100 * kSecond);
  CHECK(shares(picks(f.t, "byrequests", 20, 101 * kSecond)) ==
        std::map<std::string, int>{{"m1", 10}, {"m2", 10}});
  // Every member ejected (100 % allowed): ejection is ignored for the pick.
  f.feed(1, Answer::kGateway, 3, 100 * kSecond);
  f.feed(2, Answer::kGateway, 3, 100 * kSecond);
  for (std::size_t i = 0; i < 3; ++i) CHECK(is_ejected(f.t.counters(i), 101 * kSecond));
  CHECK(picks(f.t, "byrequests", 1, 101 * kSecond) != Names{"-"});
}

TEST_CASE("ejection: an ejected member's sessions fail over, or stay when it keeps them",
          "[health][ejection]") {
  Fixture f(2, 100);
  f.t[0].route = "n0";
  f.t[1].route = "n1";
  f.feed(0, Answer::k5xx, 5, 100 * kSecond);
  BalancerPolicy policy;
  policy.selector = find_selector("byrequests");
  policy.sticky = sticky_config("JSESSIONID", "jsessionid", '.', false);
  std::vector<Candidate> scratch(2);
  auto route_of = [&](const BalancerPolicy& p) {
    Decision d = decide(
        f.t, p, RequestView{"balancer://c/", {}, "JSESSIONID=abc.n0", 101 * kSecond}, scratch);
    return d.member == kNoMember ? std::string("-") : f.t[d.member].name;
  };
  CHECK(route_of(policy) == "m1");  // fails over, as for a member in error
  policy.nofailover = true;
  CHECK(route_of(policy) == "m0");  // nofailover: it stays rather than get a 503
  policy.nofailover = false;
  f.t.counters(0).eject_sessions.store(1);
  CHECK(route_of(policy) == "m0");  // ejectsessions=1
}

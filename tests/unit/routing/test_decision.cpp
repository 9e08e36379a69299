#include <catch2/catch.hpp>

#include "fake_table.hpp"

using namespace isb;
using namespace isb::test;

namespace {

struct Fixture {
  FakeTable t;
  BalancerPolicy policy;
  std::vector<Candidate> scratch;
  Fixture() {
    t.add("a").route = "isNode1";
    t.add("b").route = "isNode2";
    t.add("c").route = "isNode3";
    policy.selector = find_selector("byrequests");
    policy.sticky = {"JSESSIONID", "jsessionid", '.', false};
    scratch.resize(t.size());
  }
  Decision run(std::string_view url, std::string_view cookie = "", std::int64_t now = 0) {
    return decide(t, policy, RequestView{url, {}, cookie, now}, scratch);
  }
};

}  // namespace

TEST_CASE("sticky by cookie and by path parameter", "[decision][sticky]") {
  Fixture f;
  for (int i = 0; i < 20; ++i) {
    Decision d = f.run("balancer://c/app", "JSESSIONID=abc.isNode2");
    CHECK(d.outcome == Outcome::kSticky);
    CHECK(d.member == 1);
    CHECK(!d.route_changed);
  }
  Decision d = f.run("balancer://c/app;jsessionid=xyz.isNode3?x=1", "JSESSIONID=abc.isNode2");
  CHECK(d.outcome == Outcome::kSticky);  // the URL wins, as in stock
  CHECK(d.member == 2);
  CHECK(d.session->sticky_name == "jsessionid");
  CHECK(f.t[1].counters.sticky.load() == 20);
  CHECK(f.t[1].counters.elected.load() == 20);
}

TEST_CASE("sticky hits are charged to the weights", "[decision][sticky]") {
  Fixture f;
  // 3 sticky hits on a, then 3 new sessions: they go to b and c first.
  for (int i = 0; i < 3; ++i) f.run("balancer://c/", "JSESSIONID=s.isNode1");
  Names seq;
  for (int i = 0; i < 3; ++i) seq.push_back(f.t[f.run("balancer://c/").member].name);
  CHECK(std::count(seq.begin(), seq.end(), "a") == 0);
}

TEST_CASE("unknown route falls back to balancing and marks the route changed",
          "[decision][sticky]") {
  Fixture f;
  Decision d = f.run("balancer://c/", "JSESSIONID=abc.nosuch");
  CHECK(d.outcome == Outcome::kBalanced);
  CHECK(d.route_changed);
  REQUIRE(d.session);
  CHECK(d.session->route == "nosuch");
}

TEST_CASE("failover: a down route is rebalanced unless nofailover", "[decision][nofailover]") {
  Fixture f;
  f.t[0].status |= kDisabled;
  Decision d = f.run("balancer://c/", "JSESSIONID=abc.isNode1");
  CHECK(d.outcome == Outcome::kBalanced);
  CHECK(d.member != 0);
  CHECK(d.route_changed);
  f.policy.nofailover = true;
  d = f.run("balancer://c/", "JSESSIONID=abc.isNode1");
  CHECK(d.outcome == Outcome::kRouteDown);
  // A route no member has is not "down": it is balanced even with nofailover.
  d = f.run("balancer://c/", "JSESSIONID=abc.elsewhere");
  CHECK(d.outcome == Outcome::kBalanced);
}

TEST_CASE("drain: a draining member keeps its own sticky sessions", "[decision][drain]") {
  Fixture f;
  f.t[0].status |= kDrain;
  for (int i = 0; i < 5; ++i) {
    Decision d = f.run("balancer://c/", "JSESSIONID=abc.isNode1");
    CHECK(d.outcome == Outcome::kSticky);
    CHECK(d.member == 0);
  }
  for (int i = 0; i < 6; ++i) CHECK(f.run("balancer://c/").member != 0);
}

TEST_CASE("redirect: sessions of a disabled member go to its redirect route",
          "[decision][redirect]") {
  Fixture f;
  f.t[0].status |= kDisabled;
  f.t[0].redirect = "isNode3";
  Decision d = f.run("balancer://c/", "JSESSIONID=abc.isNode1");
  CHECK(d.outcome == Outcome::kSticky);
  CHECK(d.member == 2);
  CHECK(d.route_changed);
}

TEST_CASE("stickysessionsep Off: the whole value is the route", "[decision][sticky]") {
  Fixture f;
  f.policy.sticky.separator = '\0';
  CHECK(f.run("balancer://c/", "ROUTEID=x; JSESSIONID=isNode3").member == 2);
}

TEST_CASE("no sticky configured: cookies are ignored", "[decision][sticky]") {
  Fixture f;
  f.policy.sticky = {};
  Decision d = f.run("balancer://c/", "JSESSIONID=abc.isNode3");
  CHECK(d.outcome == Outcome::kBalanced);
  CHECK(!d.route_changed);
  CHECK(!d.session);
}

TEST_CASE("hostile sticky values get a normal decision", "[decision][sticky][hostile]") {
  Fixture f;
  const std::string huge = "JSESSIONID=" + std::string(5000, 'x') + ".isNode1";
  CHECK(f.run("balancer://c/", huge).outcome == Outcome::kBalanced);
  std::string many;
  for (int i = 0; i < 50; ++i) many += "JSESSIONID=s" + std::to_string(i) + ".isNode2; ";
  Decision d = f.run("balancer://c/", many);
  CHECK(d.outcome == Outcome::kSticky);
  CHECK(d.member == 1);
  CHECK(f.run("balancer://c/", "JSESSIONID=").outcome == Outcome::kBalanced);
  CHECK(f.run("balancer://c/", "JSESSIONID=..").outcome == Outcome::kBalanced);
  CHECK(f.run("balancer://c/", std::string("JSESSIONID=a.isNode1\x01")).outcome ==
        Outcome::kBalanced);
  CHECK(f.run("balancer://c/;jsessionid=", "").outcome == Outcome::kBalanced);
}

TEST_CASE("no members at all", "[decision]") {
  FakeTable t;
  BalancerPolicy policy;
  policy.selector = find_selector("byrequests");
  std::vector<Candidate> scratch;
  Decision d = decide(t, policy, RequestView{"balancer://c/", {}, "", 0}, scratch);
  CHECK(d.outcome == Outcome::kNoneUsable);
}

TEST_CASE("timeout: waits in 100 steps until a member's retry interval ends",
          "[decision][timeout]") {
  Fixture f;
  for (std::size_t i = 0; i < f.t.size(); ++i) {
    f.t[i].status |= kInError;
    f.t[i].error_time = 0;
    f.t[i].retry = 1'000'000;  // usable again after 1 s
  }
  f.t[1].retry = 350'000;  // b first, after 0.35 s
  f.policy.forcerecovery = false;
  RequestView req{"balancer://c/", {}, "", 0};
  Decision d = decide(f.t, f.policy, req, f.scratch);
  REQUIRE(d.outcome == Outcome::kNoneUsable);

  std::int64_t clock = 0;
  std::vector<std::int64_t> sleeps;
  d = wait_for_member(
      f.t, f.policy, req, f.scratch, std::move(d), 2'000'000,
      [&](std::int64_t us) {
        sleeps.push_back(us);
        clock += us;
      },
      [&] { return clock; });
  CHECK(d.outcome == Outcome::kBalanced);
  CHECK(d.member == 1);
  // Steps of 2 s / 100 = 20 ms; b is due once now > 350 ms, at the 18th step (360 ms).
  CHECK(sleeps == std::vector<std::int64_t>(18, 20'000));
  CHECK(req.now == 360'000);
  CHECK(f.t[1].retries == 1);
}

TEST_CASE("timeout: gives up after the whole timeout, and never waits without one",
          "[decision][timeout]") {
  Fixture f;
  for (std::size_t i = 0; i < f.t.size(); ++i) f.t[i].status |= kStopped;
  RequestView req{"balancer://c/", {}, "", 0};
  std::int64_t clock = 0;
  int sleeps = 0;
  auto sleep = [&](std::int64_t us) {
    ++sleeps;
    clock += us;
  };
  auto now = [&] { return clock; };

  Decision d = decide(f.t, f.policy, req, f.scratch);
  d = wait_for_member(f.t, f.policy, req, f.scratch, std::move(d), 1000, sleep, now);
  CHECK(d.outcome == Outcome::kNoneUsable);
  CHECK(sleeps == 100);  // steps of 10 µs
  CHECK(clock == 1000);

  // A step is at least 1 µs: 150 µs take 150 of them.
  sleeps = 0;
  clock = 0;
  d = wait_for_member(f.t, f.policy, req, f.scratch, std::move(d), 150, sleep, now);
  CHECK(d.outcome == Outcome::kNoneUsable);
  CHECK(sleeps == 150);
  CHECK(clock == 150);

  sleeps = 0;
  d = wait_for_member(f.t, f.policy, req, f.scratch, std::move(d), 0, sleep, now);
  CHECK(d.outcome == Outcome::kNoneUsable);
  CHECK(sleeps == 0);

  f.t[0].status &= ~static_cast<std::uint32_t>(kStopped);  // a member is usable: no wait
  d = decide(f.t, f.policy, req, f.scratch);
  d = wait_for_member(f.t, f.policy, req, f.scratch, std::move(d), 1'000'000, sleep, now);
  CHECK(d.outcome == Outcome::kBalanced);
  CHECK(sleeps == 0);

  FakeTable empty;  // no members: nothing to wait for
  std::vector<Candidate> none(1);
  d = wait_for_member(empty, f.policy, req, none, Decision{}, 1'000'000, sleep, now);
  CHECK(d.outcome == Outcome::kNoneUsable);
  CHECK(sleeps == 0);
}

TEST_CASE("duplicate cookies: a stale first one gives way to one that names a usable member",
          "[decision][sticky][duplicate]") {
  Fixture f;
  // The first names no member, a disabled one, an ejected one, or is malformed.
  f.t[0].status |= kDisabled;
  f.t[2].counters.ejected_until_us.store(1'000'000);
  for (std::string_view first :
       {"JSESSIONID=a.gone", "JSESSIONID=a.isNode1", "JSESSIONID=a.isNode3", "JSESSIONID=noroute",
        "JSESSIONID=a.", "JSESSIONID=a.bad\x01route", "JSESSIONID=a.isNode2.x"}) {
    const std::string cookie = std::string(first) + "; other=1; JSESSIONID=b.isNode2";
    Decision d = f.run("balancer://c/app", cookie);
    INFO(cookie);
    CHECK(d.outcome == Outcome::kSticky);
    CHECK(d.member == 1);
    CHECK(!d.route_changed);
    REQUIRE(d.session);
    CHECK(d.session->route == "isNode2");  // the route the request is sent with
    CHECK(d.session->sticky_name == "JSESSIONID");
  }
  CHECK(f.t[1].counters.sticky.load() == 7);
  // An ejected member that keeps its sessions takes them: the first wins.
  f.t[2].counters.eject_sessions.store(1);
  Decision d = f.run("balancer://c/", "JSESSIONID=a.isNode3; JSESSIONID=b.isNode2");
  CHECK(d.member == 2);
  CHECK(d.session->route == "isNode3");
}

TEST_CASE("duplicate cookies: the first usable one in header order wins; a usable first is kept",
          "[decision][sticky][duplicate]") {
  Fixture f;
  Decision d = f.run("balancer://c/", "JSESSIONID=a.isNode1; JSESSIONID=b.isNode2");
  CHECK(d.member == 0);  // one per path: the first is usable, so stock's choice stands
  d = f.run("balancer://c/", "JSESSIONID=a.gone; JSESSIONID=b.isNode3; JSESSIONID=c.isNode2");
  CHECK(d.member == 2);
  // The legacy ',' separator and quotes, as for the first cookie.
  d = f.run("balancer://c/", "JSESSIONID=a.gone, JSESSIONID=\"b.isNode2\"");
  CHECK(d.member == 1);
  CHECK(d.session->route == "isNode2");
}

TEST_CASE("duplicate cookies: a later one follows redirect and retry like the first",
          "[decision][sticky][duplicate]") {
  Fixture f;
  f.t[0].status |= kInError;  // a: in error, its retry due at 60 s
  f.t[0].error_time = 0;
  f.t[1].status |= kDisabled;
  f.t[1].redirect = "isNode3";
  // a is not due yet; b is disabled but redirects to c.
  Decision d = f.run("balancer://c/", "JSESSIONID=x.isNode1; JSESSIONID=y.isNode2", 1'000'000);
  CHECK(d.outcome == Outcome::kSticky);
  CHECK(d.member == 2);
  CHECK(d.session->route == "isNode2");
  CHECK(d.route_changed);  // served under another route, as for a redirected first cookie
  // Once a's retry is due, a later cookie naming it brings it back.
  d = f.run("balancer://c/", "JSESSIONID=x.gone; JSESSIONID=y.isNode1", 61'000'000);
  CHECK(d.member == 0);
  CHECK(f.t[0].retries == 1);
  CHECK(!d.route_changed);
}

TEST_CASE("duplicate cookies: when none is usable the first decides, as stock",
          "[decision][sticky][duplicate][nofailover]") {
  Fixture f;
  f.t[0].status |= kDisabled;
  f.t[1].status |= kDisabled;
  const std::string_view cookie = "JSESSIONID=a.isNode1; JSESSIONID=b.isNode2; JSESSIONID=c.gone";
  Decision d = f.run("balancer://c/", cookie);
  CHECK(d.outcome == Outcome::kBalanced);
  CHECK(d.member == 2);
  CHECK(d.route_changed);
  REQUIRE(d.session);
  CHECK(d.session->route == "isNode1");
  f.policy.nofailover = true;
  d = f.run("balancer://c/", cookie);
  CHECK(d.outcome == Outcome::kRouteDown);
  CHECK(d.session->route == "isNode1");
  // A first without a route: balanced, with no session route, even with nofailover.
  d = f.run("balancer://c/", "JSESSIONID=noroute; JSESSIONID=b.isNode2");
  CHECK(d.outcome == Outcome::kBalanced);
  CHECK(!d.session);
  // With nofailover a usable later cookie still beats a certain 503.
  d = f.run("balancer://c/", "JSESSIONID=a.isNode1; JSESSIONID=c.isNode3");
  CHECK(d.outcome == Outcome::kSticky);
  CHECK(d.member == 2);
}

TEST_CASE("duplicate cookies: the URL still comes first", "[decision][sticky][duplicate]") {
  Fixture f;
  f.t[0].status |= kDisabled;
  Decision d =
      f.run("balancer://c/app;jsessionid=p.isNode1", "JSESSIONID=a.isNode2; JSESSIONID=b.isNode3");
  CHECK(d.outcome == Outcome::kBalanced);  // the URL's route is down: balanced, as stock
  CHECK(d.session->route == "isNode1");
  CHECK(d.session->sticky_name == "jsessionid");
}

TEST_CASE("duplicate cookies: at most kMaxSessionCookies are looked at",
          "[decision][sticky][duplicate][hostile]") {
  Fixture f;
  f.t[0].status |= kDisabled;
  auto cookies = [](std::size_t stale, std::string_view last) {
    std::string h;
    for (std::size_t i = 0; i < stale; ++i) {
      h += "JSESSIONID=s.gone";
      h += std::to_string(i);
      h += "; ";
    }
    h += "JSESSIONID=";
    h += last;
    return h;
  };
  // The 8th cookie of the name is still looked at; the 9th is not.
  Decision d = f.run("balancer://c/", cookies(kMaxSessionCookies - 1, "v.isNode2"));
  CHECK(d.outcome == Outcome::kSticky);
  CHECK(d.member == 1);
  const std::string nine = cookies(kMaxSessionCookies, "v.isNode2");  // d.session views it
  d = f.run("balancer://c/", nine);
  CHECK(d.outcome == Outcome::kBalanced);
  CHECK(d.session->route == "gone0");
  // Thousands of cookies of the name cost at most kMaxSessionCookies lookups.
  f.t.route_reads = 0;
  d = f.run("balancer://c/", cookies(5000, "v.isNode2"));
  CHECK(d.outcome == Outcome::kBalanced);
  // Each lookup of a route no member has reads every member's route once.
  CHECK(f.t.route_reads <= kMaxSessionCookies * f.t.size() + 2 * f.t.size());
  // Repeats of one stale route are looked up once, and count towards the bound.
  f.t.route_reads = 0;
  std::string same;
  for (int i = 0; i < 7; ++i) same += "JSESSIONID=x.gone; ";
  same += "JSESSIONID=v.isNode2";
  d = f.run("balancer://c/", same);
  CHECK(d.member == 1);
}

TEST_CASE("duplicate cookies: one cookie costs what it did", "[decision][sticky][duplicate]") {
  Fixture f;
  f.t.route_reads = 0;
  Decision d = f.run("balancer://c/", "a=1; JSESSIONID=abc.isNode2; b=2");
  CHECK(d.member == 1);
  const std::size_t one = f.t.route_reads;
  // A second cookie of the name after a usable first is never read.
  f.t.route_reads = 0;
  d = f.run("balancer://c/", "a=1; JSESSIONID=abc.isNode2; JSESSIONID=x.isNode3");
  CHECK(d.member == 1);
  CHECK(f.t.route_reads == one);
}

// Body-safe failover (core/policy/safe_failover.hpp): every combination of the
// rule's inputs, and the scheme and method tables it is fed from.
#include <catch2/catch.hpp>

#include "core/policy/safe_failover.hpp"

using namespace isb;

TEST_CASE("safe failover: a body read and not kept refuses the failover, any method",
          "[policy][failover]") {
  for (const bool idempotent : {false, true}) {
    INFO("idempotent " << idempotent);
    // The first attempt repeats nothing.
    CHECK(failover_safety({0, idempotent, 5, false}) == FailoverSafety::kSafe);
    // mod_proxy_http kept what it read and fails over before sending a byte.
    CHECK(failover_safety({1, idempotent, 2'000'000, true}) == FailoverSafety::kSafe);
    // Nothing of the body read (a connect failure, or no body): the request as sent.
    CHECK(failover_safety({1, idempotent, 0, false}) == FailoverSafety::kSafe);
    CHECK(failover_safety({3, idempotent, 0, false}) == FailoverSafety::kSafe);
    // Part of the body gone to the failed member: the next one would get it short,
    // a PUT as much as a POST.
    CHECK(failover_safety({1, idempotent, 1, false}) == FailoverSafety::kBodyConsumed);
    CHECK(failover_safety({2, idempotent, 65'536, false}) == FailoverSafety::kBodyConsumed);
    // mod_proxy_fcgi prefetched 16 KiB and failed to connect: it keeps all of it
    // for the next member; once it sent some, it keeps less than it read.
    CHECK(failover_safety({1, idempotent, 16'384, false, 16'384}) == FailoverSafety::kSafe);
    CHECK(failover_safety({1, idempotent, 16'384, false, 8'192}) == FailoverSafety::kBodyConsumed);
    CHECK(failover_safety({1, idempotent, 16'384, false, 0}) == FailoverSafety::kBodyConsumed);
    CHECK(failover_safety({1, idempotent, 16'384, false, -1}) == FailoverSafety::kBodyConsumed);
  }
  static_assert(failover_safety({1, false, 8, false}) == FailoverSafety::kBodyConsumed);
}

TEST_CASE("safe failover: which handler keeps the body for the next member", "[policy][failover]") {
  CHECK(body_handler("http") == "http");
  CHECK(body_handler("HTTPS") == "http");
  CHECK(body_handler("fcgi") == "fcgi");
  CHECK(body_handler("FCGI") == "fcgi");
  CHECK(body_handler("scgi").empty());
  CHECK(body_handler("ajp").empty());
  CHECK(body_handler("h2").empty());
}

TEST_CASE("safe failover: only mod_proxy_http's schemes keep the body", "[policy][failover]") {
  CHECK(scheme_keeps_body("http"));
  CHECK(scheme_keeps_body("https"));
  CHECK(scheme_keeps_body("HTTPS"));
  CHECK_FALSE(scheme_keeps_body("scgi"));
  CHECK_FALSE(scheme_keeps_body("uwsgi"));
  CHECK_FALSE(scheme_keeps_body("fcgi"));
  CHECK_FALSE(scheme_keeps_body("ajp"));
  CHECK_FALSE(scheme_keeps_body("h2c"));
  CHECK_FALSE(scheme_keeps_body("ws"));
  CHECK_FALSE(scheme_keeps_body("http2"));
  CHECK_FALSE(scheme_keeps_body(""));
}

TEST_CASE("safe failover: RFC 9110's idempotent methods", "[policy][failover]") {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    CHECK(is_idempotent_method(m));
  }
  for (const char* m : {"POST", "PATCH", "CONNECT", "get", "PROPFIND", ""}) {
    CHECK_FALSE(is_idempotent_method(m));
  }
}

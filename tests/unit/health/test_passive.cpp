// Passive health (core/health/passive.hpp): failonstatus, failontimeout and the
// ignore-errors flag, as stock's post_request applies them.
#include <catch2/catch.hpp>

#include <array>

#include "core/health/passive.hpp"

using namespace isb;

TEST_CASE("passive health: failonstatus, failontimeout, ignore errors", "[health]") {
  const std::array<int, 2> codes{503, 500};
  PassiveHealth health{codes, true};
  const std::uint32_t up = kInitialized;

  CHECK(judge_response(health, up, {200, false}) == Fault::kNone);
  CHECK(judge_response(health, up, {404, false}) == Fault::kNone);
  CHECK(judge_response(health, up, {500, false}) == Fault::kStatus);
  CHECK(judge_response(health, up, {503, false}) == Fault::kStatus);
  CHECK(judge_response(health, up, {504, true}) == Fault::kTimeout);
  // A listed status wins over a timeout: the log line names the status.
  CHECK(judge_response(health, up, {503, true}) == Fault::kStatus);
  // I: never put into error.
  CHECK(judge_response(health, up | kIgnoreErrors, {503, true}) == Fault::kNone);

  PassiveHealth off;  // neither configured
  CHECK(judge_response(off, up, {503, true}) == Fault::kNone);
  health.fail_on_timeout = false;
  CHECK(judge_response(health, up, {504, true}) == Fault::kNone);
}

TEST_CASE("passive health: the judgement is usable at compile time", "[health]") {
  static constexpr std::array<int, 1> codes{502};
  static_assert(judge_response({codes, false}, kInitialized, {502, false}) == Fault::kStatus);
  static_assert(judge_response({codes, false}, kInitialized, {200, true}) == Fault::kNone);
  SUCCEED();
}

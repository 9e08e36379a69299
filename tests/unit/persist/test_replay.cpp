// Saved edits replayed at start-up (core/persist/replay.hpp): where they come
// from, which balancer each is for, and what is ignored or skipped, and why.
#include <catch2/catch.hpp>

#include <array>
#include <string_view>
#include <vector>

#include "core/persist/replay.hpp"

using namespace isb;

namespace {

constexpr std::array<std::string_view, 2> kMethods = {"byrequests", "bybusyness"};
const EditRules kRules{kMethods, false};

const std::vector<ReplayBalancer> kBalancers = {
    {{"front:0", "app"}, true},         // 0
    {{"shop:0 *:8080", "app"}, false},  // 1: BalancerPersist Off
    {{"twin:0 *:9000", "cart"}, true},  // 2 and 3: twins
    {{"twin:0 *:9000", "Cart"}, true},  // 3
};

SavedEdit saved(std::string scope, std::vector<FormField> fields) {
  return SavedEdit{std::move(scope), std::move(fields)};
}

}  // namespace

TEST_CASE("replay: a kept segment replays nothing; a fresh one the carried edits first",
          "[persist]") {
  CHECK(replay_source(false, false) == ReplaySource::kNone);
  CHECK(replay_source(false, true) == ReplaySource::kNone);
  CHECK(replay_source(true, true) == ReplaySource::kPreviousGeneration);
  CHECK(replay_source(true, false) == ReplaySource::kStateFile);
}

TEST_CASE("replay: an edit that fits one balancer is applied to it", "[persist]") {
  const auto s = saved("front:0", {{"b", "APP"}, {"b_lbm", "bybusyness"}});
  for (bool from_file : {false, true}) {
    const ReplayStep step = plan_replay(s, kBalancers, kRules, from_file);
    CHECK(step.action == ReplayStep::Action::kApply);
    CHECK(step.balancer == 0);
    REQUIRE(step.edit);
    CHECK(step.edit->balancer == "APP");
    CHECK(step.edit->value(&BalancerSettings::lbmethod) == "bybusyness");
    CHECK_FALSE(step.refused);
  }
}

TEST_CASE("replay: the state file's edits of a balancer that no longer persists are ignored",
          "[persist]") {
  const auto s = saved("shop:0 *:8080", {{"b", "app"}, {"b_lbm", "bybusyness"}});
  const ReplayStep from_file = plan_replay(s, kBalancers, kRules, true);
  CHECK(from_file.action == ReplayStep::Action::kIgnore);
  CHECK_FALSE(from_file.edit);
  CHECK_FALSE(from_file.refused);
  // Carried from the previous generation, it is applied: that is not persistence.
  const ReplayStep carried = plan_replay(s, kBalancers, kRules, false);
  CHECK(carried.action == ReplayStep::Action::kApply);
  CHECK(carried.balancer == 1);
}

TEST_CASE("replay: what no longer applies is skipped with the reason", "[persist]") {
  SECTION("a form that no longer validates: 400 on its field") {
    const auto s = saved("front:0", {{"b", "app"}, {"b_lbm", "heartbeat"}});
    const ReplayStep step = plan_replay(s, kBalancers, kRules, true);
    CHECK(step.action == ReplayStep::Action::kSkip);
    REQUIRE(step.refused);
    CHECK(step.refused->status == http::kBadRequest);
    CHECK(step.refused->field == "b_lbm");
    CHECK_FALSE(step.refused->message.empty());
    CHECK_FALSE(step.edit);
  }
  SECTION("a balancer of twin virtual hosts: 409, never guessed") {
    const auto s = saved("twin:0 *:9000", {{"b", "cart"}, {"b_lbm", "bybusyness"}});
    const ReplayStep step = plan_replay(s, kBalancers, kRules, true);
    CHECK(step.action == ReplayStep::Action::kSkip);
    REQUIRE(step.refused);
    CHECK(step.refused->status == http::kConflict);
    CHECK(step.refused->field == "b");
    CHECK(step.refused->message ==
          "the balancer of 2 virtual hosts fits it; give each its own ServerName or address");
  }
  SECTION("no such balancer in that scope: 404") {
    for (const auto& s : {saved("front:0", {{"b", "gone"}, {"b_lbm", "bybusyness"}}),
                          saved("other:0", {{"b", "app"}, {"b_lbm", "bybusyness"}})}) {
      const ReplayStep step = plan_replay(s, kBalancers, kRules, true);
      CHECK(step.action == ReplayStep::Action::kSkip);
      REQUIRE(step.refused);
      CHECK(step.refused->status == http::kNotFound);
      CHECK(step.refused->field == "b");
      CHECK(step.refused->message == "no such balancer in this configuration");
    }
  }
}

TEST_CASE("replay: an older scope without addresses still finds its balancer", "[persist]") {
  const auto s = saved("SHOP:0", {{"b", "app"}, {"b_lbm", "bybusyness"}});
  const ReplayStep step = plan_replay(s, kBalancers, kRules, false);
  CHECK(step.action == ReplayStep::Action::kApply);
  CHECK(step.balancer == 1);
}

TEST_CASE("replay: the tally counts applied and skipped edits, not ignored ones", "[persist]") {
  ReplayTally tally;
  CHECK_FALSE(tally.worth_a_notice());
  tally.count(std::nullopt);
  tally.count(Refusal{http::kNotFound, "b", "no such balancer in this configuration"});
  tally.count(std::nullopt);
  CHECK(tally.applied == 2);
  CHECK(tally.skipped == 1);
  CHECK(tally.worth_a_notice());
  ReplayTally only_skipped;
  only_skipped.count(Refusal{});
  CHECK(only_skipped.worth_a_notice());
}

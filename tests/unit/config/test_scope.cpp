#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/config/scope.hpp"

using namespace isb;

TEST_CASE("a virtual host's scope names it by name, port and addresses", "[scope]") {
  const std::vector<std::string> none;
  const std::vector<std::string> one = {"*:18030"};
  const std::vector<std::string> two = {"127.0.0.1:8080", "[::1]:8080"};
  CHECK(vhost_scope("front", 0, none) == "front:0");
  CHECK(vhost_scope("same.example", 0, one) == "same.example:0 *:18030");
  CHECK(vhost_scope("a b\tc", 80, two) == "a_b_c:80 127.0.0.1:8080,[::1]:8080");
  // Neither the case of the name nor the order of the addresses moves a scope.
  const std::vector<std::string> swapped = {"[::1]:8080", "127.0.0.1:8080"};
  CHECK(vhost_scope("A_B_C", 80, swapped) == vhost_scope("a b\tc", 80, two));
}

TEST_CASE("a saved edit matches one balancer, or none when it could mean two", "[scope]") {
  const std::vector<ScopedBalancer> vhosts = {
      {"same.example:0 *:18030", "app"},
      {"same.example:0 *:18031", "app"},
      {"same.example:0 *:18031", "other"},
      {"twin:0 *:9000", "app"},
      {"twin:0 *:9000", "App"},  // one host, twice the same balancer: never guessed
  };
  auto pick = [&](std::string_view scope, std::string_view name) {
    return match_scope(vhosts, scope, name);
  };
  CHECK(pick("same.example:0 *:18030", "app").index == 0u);
  CHECK(pick("same.example:0 *:18031", "APP").index == 1u);
  CHECK(pick("same.example:0 *:18031", "other").index == 2u);
  CHECK_FALSE(pick("same.example:0 *:18032", "app").index);
  // An older state file's "name:port" fits both ports: ambiguous, so skipped.
  ScopeMatch old = pick("same.example:0", "app");
  CHECK_FALSE(old.index);
  CHECK(old.matches == 2);
  CHECK(pick("same.example:0", "other").index == 2u);
  CHECK(pick("Same.Example:0", "other").index == 2u);  // an older file kept the name's case
  ScopeMatch twin = pick("twin:0 *:9000", "app");
  CHECK_FALSE(twin.index);
  CHECK(twin.matches == 2);
}

// Virtual hosts at start-up (core/config/vhosts.hpp): the scope of a virtual host
// as httpd describes it, and the balancers whose saved edits cannot be told apart.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/config/vhosts.hpp"

using namespace isb;

TEST_CASE("vhosts: a <VirtualHost> line's addresses as a scope spells them", "[config]") {
  CHECK(scope_of_vhost("front", 0, {}) == "front:0");
  const std::vector<VhostAddress> any_port = {{"*", 0}};
  CHECK(scope_of_vhost("Same.Example", 0, any_port) == "same.example:0 *:*");
  const std::vector<VhostAddress> ports = {{"*", 18030}, {"127.0.0.1", 8080}};
  CHECK(scope_of_vhost("a", 80, ports) == "a:80 *:18030,127.0.0.1:8080");
  // An IPv6 address gets brackets before its port, unless it has them already.
  const std::vector<VhostAddress> v6 = {{"::1", 8080}, {"[fe80::1]", 0}};
  CHECK(scope_of_vhost("a", 0, v6) == "a:0 [::1]:8080,[fe80::1]:*");
  // No host at all (httpd had none): only the port.
  const std::vector<VhostAddress> none = {{"", 443}};
  CHECK(scope_of_vhost("", 0, none) == ":0 :443");
}

TEST_CASE("vhosts: twins are warned of once, at the first of them", "[config]") {
  const std::vector<ScopedBalancer> balancers = {
      {"same:0 *:18030", "app"},  // 0
      {"same:0 *:18031", "app"},  // 1: another port, another scope
      {"same:0 *:18030", "APP"},  // 2: 0's twin (names compare without case)
      {"same:0 *:18030", "api"},  // 3
      {"front:0", "app"},         // 4
      {"same:0 *:18030", "app"},  // 5: a third of 0's group
      {"front:0", "api"},         // 6
  };
  const std::vector<Twins> twins = find_twins(balancers);
  REQUIRE(twins.size() == 1);
  CHECK(twins[0].first == 0);
  CHECK(twins[0].count == 3);
}

TEST_CASE("vhosts: no twins among distinct scopes and names", "[config]") {
  const std::vector<ScopedBalancer> balancers = {
      {"a:0 *:80", "app"}, {"b:0 *:80", "app"}, {"a:0 *:80", "api"}, {"a:0", "app"}};
  CHECK(find_twins(balancers).empty());
  const std::vector<ScopedBalancer> two_groups = {
      {"a:0", "x"}, {"b:0", "y"}, {"b:0", "Y"}, {"a:0", "X"}};
  const std::vector<Twins> twins = find_twins(two_groups);
  REQUIRE(twins.size() == 2);
  CHECK(twins[0].first == 0);
  CHECK(twins[0].count == 2);
  CHECK(twins[1].first == 1);
  CHECK(twins[1].count == 2);
}

// A request's balancer:// URL (core/routing/balancer_url.hpp).
#include <catch2/catch.hpp>

#include "core/routing/balancer_url.hpp"

using namespace isb;

TEST_CASE("balancer url: the prefix in any case, without reading past the end", "[routing][url]") {
  CHECK(is_balancer_url("balancer://c/x"));
  CHECK(is_balancer_url("BaLaNcEr://c"));
  CHECK(is_balancer_url("balancer://"));  // the name is canon_handler's to check
  CHECK(!is_balancer_url("balancer:/c"));
  CHECK(!is_balancer_url("balance"));
  CHECK(!is_balancer_url(""));
  CHECK(!is_balancer_url("http://c"));
  CHECK(starts_with_nocase("BALANCER_WORKER_NAME", "balancer_"));
  CHECK(!starts_with_nocase("BALANCE", "balancer_"));
}

TEST_CASE("balancer url: the name it carries finds the configured balancer in any case",
          "[routing][url]") {
  CHECK(balancer_of_url("balancer://MyCluster/app/x?y") == "MyCluster");
  CHECK(balancer_of_url("balancer://c") == "c");
  CHECK(balancer_of_url("balancer://") == "");
  CHECK(names_balancer("balancer://mycluster", "MyCluster"));
  CHECK(names_balancer("balancer://mycluster", "mycluster"));
  CHECK(!names_balancer("balancer://mycluster", "mycluster2"));
  CHECK(!names_balancer("balancer://mycluster2", "mycluster"));
  CHECK(!names_balancer("balancer://mycluster", ""));
}

TEST_CASE("balancer url: which URLs canon_handler would leave as they are", "[routing][url]") {
  CHECK(balancer_host_is_canonical("balancer://c/"));
  CHECK(balancer_host_is_canonical("balancer://my-cluster.x_1/app?q"));
  CHECK(balancer_host_is_canonical("balancer://c1/"));
  CHECK(!balancer_host_is_canonical("balancer://123/"));  // taken for a port
  CHECK(!balancer_host_is_canonical("balancer://C/"));    // lower-cased by canon
  CHECK(!balancer_host_is_canonical("balancer://c:80/"));
  CHECK(!balancer_host_is_canonical("balancer://u@c/"));
  CHECK(!balancer_host_is_canonical("balancer://c"));  // no '/' to end the host
  CHECK(!balancer_host_is_canonical("balancer:///"));
  CHECK(!balancer_host_is_canonical("BALANCER://c/"));
  CHECK(!balancer_host_is_canonical("balan"));
}

// Where directives belong and which server defines a balancer
// (core/config/placement.hpp).
#include <catch2/catch.hpp>
#include <string_view>
#include <vector>

#include "core/config/placement.hpp"

using namespace isb;

TEST_CASE("placement: a manager directive in any <Proxy...> section is refused",
          "[config][directives]") {
  const std::vector<std::string_view> in_proxy{"<Proxy"};
  CHECK(misplaced_manager_directive("ISBalancerManagerScriptEdits", in_proxy, "balancer://c") ==
        "ISBalancerManagerScriptEdits belongs with SetHandler balancer-manager (in its "
        "<Location>, or for the server or virtual host), not in <Proxy balancer://c>");
  // Nested, in another spelling, or <ProxyMatch>: still a <Proxy> section.
  const std::vector<std::string_view> nested{"<If", "<proxymatch", "<VirtualHost"};
  CHECK(misplaced_manager_directive("ISBalancerManagerTrustedOrigin", nested, "^/x")
            ->find("not in <Proxy ^/x>") != std::string::npos);
  const std::vector<std::string_view> location{"<Location", "<VirtualHost"};
  CHECK(!misplaced_manager_directive("ISBalancerManagerScriptEdits", location, "/bm"));
  CHECK(!misplaced_manager_directive("ISBalancerManagerScriptEdits", {}, ""));
  const std::vector<std::string_view> short_name{"<Pro"};
  CHECK(!misplaced_manager_directive("ISBalancerManagerScriptEdits", short_name, ""));
}

TEST_CASE("placement: a balancer is defined by the first server that lists it",
          "[config][directives]") {
  const int main_b = 0;
  const int vhost_b = 0;
  const int other_b = 0;
  // The main server lists main_b; a virtual host lists its copy, then its own two.
  const std::vector<const void*> listed{&main_b, &main_b, &vhost_b, &other_b, &vhost_b};
  CHECK(first_listings(listed) == std::vector<std::size_t>{0, 2, 3});
  CHECK(first_listings({}).empty());
}

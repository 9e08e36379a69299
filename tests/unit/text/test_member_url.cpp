// A member's URL canonicalised as mod_proxy_http would (core/text/member_url.hpp).
#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

#include "core/text/member_url.hpp"

using namespace isb;

TEST_CASE("member url: directly only when every handler before mod_proxy_http's declines",
          "[text][canon]") {
  const std::vector<CanonHandler> stock{{"mod_proxy_ajp.c", true},
                                        {"mod_proxy_wstunnel.c", true},
                                        {"mod_proxy_http.c", true},
                                        {"mod_other.c", true}};
  CanonPlan plan = plan_canon(true, true, stock);
  CHECK(plan.direct);
  CHECK(plan.why.empty());
  // Their trace logging sends a request through the chain: theirs and mod_proxy_http's.
  CHECK(plan.traced == std::vector<std::string_view>{"mod_proxy_ajp.c", "mod_proxy_wstunnel.c",
                                                     "mod_proxy_http.c"});

  const std::vector<CanonHandler> foreign{{"mod_mine.c", true}, {"mod_proxy_http.c", true}};
  plan = plan_canon(true, true, foreign);
  CHECK(!plan.direct);
  CHECK(plan.traced.empty());
  CHECK(plan.why == "another module's canon handler runs before mod_proxy_http's");
  // A stock name whose module is not loaded is someone else's handler.
  const std::vector<CanonHandler> unloaded{{"mod_proxy_ajp.c", false}, {"mod_proxy_http.c", true}};
  CHECK(plan_canon(true, true, unloaded).why ==
        "another module's canon handler runs before mod_proxy_http's");
  // The same stock handler over and over is not a stock chain either.
  const std::vector<CanonHandler> repeated(9, CanonHandler{"mod_proxy_ftp.c", true});
  CHECK(!plan_canon(true, true, repeated).direct);

  const std::vector<CanonHandler> no_http{{"mod_proxy_ajp.c", true}};
  CHECK(plan_canon(true, true, no_http).why == "mod_proxy_http has no canon handler");
  CHECK(plan_canon(true, true, {}).why == "mod_proxy_http has no canon handler");
  CHECK(plan_canon(false, true, stock).why == "mod_proxy_http is not loaded");
  CHECK(plan_canon(true, false, stock).why ==
        "mod_proxy lacks ap_proxy_canonenc_ex or proxy_hook_get_canon_handler");
  CHECK(!plan_canon(true, false, stock).direct);
}

TEST_CASE("member url: the scheme, its default port and the prefix", "[text][canon]") {
  std::size_t skip = 0;
  CHECK(http_scheme("HTTP://node1:8080/app", skip) == "http");
  CHECK(skip == 5);
  CHECK(http_scheme("https://node1", skip) == "https");
  CHECK(skip == 6);
  skip = 0;
  CHECK(http_scheme("ws://node1", skip).empty());
  CHECK(http_scheme("ajp://node1:8009", skip).empty());
  CHECK(http_scheme("unix:/run/app.sock|http://x", skip).empty());
  CHECK(http_scheme("http", skip).empty());
  CHECK(skip == 0);
  CHECK(default_port("http") == 80);
  CHECK(default_port("https") == 443);

  CHECK(canon_prefix("http", "node1", 80) == "http://node1/");
  CHECK(canon_prefix("http", "node1", 8080) == "http://node1:8080/");
  CHECK(canon_prefix("https", "node1", 443) == "https://node1/");
  CHECK(canon_prefix("https", "node1", 80) == "https://node1:80/");
  CHECK(canon_prefix("http", "::1", 8080) == "http://[::1]:8080/");
}

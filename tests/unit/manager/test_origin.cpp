#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/manager/origin.hpp"

using namespace isb;

TEST_CASE("parse_origin normalises exactly scheme://host[:port]", "[origin]") {
  CHECK(parse_origin("https://Admin.Example.COM") == "https://admin.example.com");
  CHECK(parse_origin("HTTPS://admin.example.com:443") == "https://admin.example.com");
  CHECK(parse_origin("http://127.0.0.1:80") == "http://127.0.0.1");
  CHECK(parse_origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080");
  CHECK(parse_origin("https://admin.example.com:80") == "https://admin.example.com:80");
  CHECK(parse_origin("http://[::1]:8080") == "http://[::1]:8080");
  CHECK(parse_origin("http://[::1]") == "http://[::1]");
  // IPv6 in the form a browser serialises it, whatever the configuration wrote.
  CHECK(parse_origin("http://[0:0:0:0:0:0:0:1]:8443") == "http://[::1]:8443");
  CHECK(parse_origin("http://[::FFFF:7f00:1]") == "http://[::ffff:127.0.0.1]");
  CHECK(parse_origin("https://xn--bcher-kva.example") == "https://xn--bcher-kva.example");
  for (const char* bad : {"",
                          "null",
                          "admin.example.com",
                          "ftp://admin.example.com",
                          "https://",
                          "https://admin.example.com/",
                          "https://admin.example.com/path",
                          "https://a.example?x",
                          "https://a.example#f",
                          "https://user@a.example",
                          "https://a.example:",
                          "https://a.example:0",
                          "https://a.example:65536",
                          "https://a.example:+80",
                          "https://a.example:080",
                          "https://a.example:8o",
                          "https://a_b.example",
                          "https://.example",
                          "https://a.example.",
                          "https://[::1",
                          "https://[]",
                          "https://[zz::1]",
                          "https://a example",
                          "https://a.ex<ample"}) {
    INFO(bad);
    CHECK_FALSE(parse_origin(bad));
  }
}

TEST_CASE("origin_of_url takes a Referer's origin", "[origin]") {
  CHECK(origin_of_url("http://127.0.0.1:8080/balancer-manager?b=x") == "http://127.0.0.1:8080");
  CHECK(origin_of_url("https://Admin.example.com/x#y") == "https://admin.example.com");
  CHECK(origin_of_url("http://127.0.0.1:80") == "http://127.0.0.1");
  CHECK_FALSE(origin_of_url("http://evil@127.0.0.1/"));
  CHECK_FALSE(origin_of_url("/balancer-manager"));
  CHECK_FALSE(origin_of_url("javascript://x/"));
}

TEST_CASE("origin_of_host builds the page's own origin", "[origin]") {
  CHECK(origin_of_host("http", "127.0.0.1:8080") == "http://127.0.0.1:8080");
  CHECK(origin_of_host("https", "LocalHost:443") == "https://localhost");
  CHECK(origin_of_host("http", "[::1]:80") == "http://[::1]");
  CHECK_FALSE(origin_of_host("http", "a.example/x"));
  CHECK_FALSE(origin_of_host("http", ""));
}

TEST_CASE("check_edit_origin: the decision table", "[origin]") {
  const std::string own = "http://127.0.0.1:8080";
  const std::vector<std::string> trusted = {"https://admin.example.com"};
  const OriginPolicy strict{};
  const OriginPolicy with_trust{trusted, false};
  const OriginPolicy scripts{{}, true};
  auto refused = [&](EditHeaders h, const OriginPolicy& p) {
    return check_edit_origin(h, own, p).has_value();
  };
  EditHeaders same_origin{.origin = "http://127.0.0.1:8080"};
  EditHeaders proxy_origin{.origin = "https://admin.example.com"};
  EditHeaders other_port{.referer = "http://127.0.0.1:8081/balancer-manager"};
  EditHeaders own_referer{.referer = "http://127.0.0.1:8080/balancer-manager"};
  EditHeaders bare{};
  EditHeaders browser_bare{.any_sec_fetch = true};
  EditHeaders cross_site{
      .origin = "http://127.0.0.1:8080", .sec_fetch_site = "Cross-Site", .any_sec_fetch = true};
  EditHeaders opaque{.origin = "null"};
  EditHeaders origin_wins{.origin = "http://evil.example", .referer = own + "/balancer-manager"};

  CHECK_FALSE(refused(same_origin, strict));
  CHECK_FALSE(refused(own_referer, strict));
  CHECK(refused(proxy_origin, strict));
  CHECK_FALSE(refused(proxy_origin, with_trust));
  CHECK(refused(other_port, strict));  // stock compares host names only; we do not
  CHECK(refused(other_port, with_trust));
  CHECK(refused(bare, strict));
  CHECK_FALSE(refused(bare, scripts));
  CHECK(refused(browser_bare, scripts));  // a browser never edits without Origin/Referer
  CHECK(refused(cross_site, scripts));
  CHECK(refused(opaque, scripts));
  CHECK(refused(origin_wins, scripts));

  auto why = check_edit_origin(bare, own, strict);
  REQUIRE(why);
  CHECK(why->message.find("ISBalancerManagerScriptEdits") != std::string::npos);
  why = check_edit_origin(proxy_origin, own, strict);
  REQUIRE(why);
  CHECK(why->header == "Origin");
  CHECK(why->message.find("https://admin.example.com") != std::string::npos);
  CHECK(why->message.find("ISBalancerManagerTrustedOrigin") != std::string::npos);
}

TEST_CASE("host_allowed: the names a manager answers to", "[origin]") {
  const std::vector<std::string> exact = {"front.example", "Alias.Example"};
  const std::vector<std::string> patterns = {"*.admin.example", "lb?.example"};
  const std::vector<std::string> trusted = {"https://proxy.example:8443"};
  const HostNames names{exact, patterns, "127.0.0.1", trusted};
  for (const char* ok :
       {"front.example", "FRONT.example:8080", "alias.example", "localhost:1", "127.0.0.1",
        "127.0.0.1:18070", "a.b.admin.example", "lb1.example", "proxy.example"}) {
    INFO(ok);
    CHECK(host_allowed(ok, names));
  }
  for (const char* bad : {"rebind.attacker.example:18070", "", ":80", "127.0.0.2", "admin.example",
                          "lb12.example", "front.example.evil", "localhost.evil", "[::1]"}) {
    INFO(bad);
    CHECK_FALSE(host_allowed(bad, names));
  }
  const HostNames v6{{}, {}, "::1", {}};
  CHECK(host_allowed("[::1]:8080", v6));
  CHECK_FALSE(host_allowed("127.0.0.1", v6));
}

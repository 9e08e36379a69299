#include <catch2/catch.hpp>

#include <string>

#include "sticky.hpp"

using namespace isb;

TEST_CASE("cookie: matched by whole name only", "[sticky][cookie]") {
  CHECK(find_cookie("JSESSIONID=abc.n1", "JSESSIONID") == "abc.n1");
  CHECK(!find_cookie("XJSESSIONID=abc.n1", "JSESSIONID"));
  CHECK(!find_cookie("JSESSIONIDX=abc.n1", "JSESSIONID"));
  CHECK(find_cookie("XJSESSIONID=bad.n9; JSESSIONID=good.n1", "JSESSIONID") == "good.n1");
  CHECK(find_cookie("a=1;JSESSIONID=v.n2;b=2", "JSESSIONID") == "v.n2");
  CHECK(find_cookie("a=1 ;  JSESSIONID =  v.n2  ; b=2", "JSESSIONID") == "v.n2");
  CHECK(find_cookie("a=1, JSESSIONID=v.n3", "JSESSIONID") == "v.n3");  // legacy ','
  CHECK(find_cookie("JSESSIONID=\"q.n4\"", "JSESSIONID") == "q.n4");
  CHECK(!find_cookie("jsessionid=abc.n1", "JSESSIONID"));  // names are case-sensitive
  CHECK(!find_cookie("JSESSIONID", "JSESSIONID"));
  CHECK(!find_cookie("", "JSESSIONID"));
  CHECK(!find_cookie("JSESSIONID=abc", ""));
}

TEST_CASE("cookie: the first non-empty value wins", "[sticky][cookie]") {
  CHECK(find_cookie("JSESSIONID=; JSESSIONID=b.n2", "JSESSIONID") == "b.n2");
  CHECK(find_cookie("JSESSIONID=a.n1; JSESSIONID=b.n2", "JSESSIONID") == "a.n1");
  std::string many;
  for (int i = 0; i < 50; ++i)
    many += "JSESSIONID=s" + std::to_string(i) + ".n" + std::to_string(i) + "; ";
  CHECK(find_cookie(many, "JSESSIONID") == "s0.n0");
}

TEST_CASE("cookie: over-long values are ignored", "[sticky][cookie][hostile]") {
  std::string v(kMaxSessionValue, 'x');
  CHECK(find_cookie("JSESSIONID=" + v, "JSESSIONID")->size() == kMaxSessionValue);
  CHECK(!find_cookie("JSESSIONID=" + v + "y", "JSESSIONID"));
}

TEST_CASE("url: only a real path parameter or query argument", "[sticky][url]") {
  CHECK(find_url_param("balancer://c/app;jsessionid=abc.n1", "jsessionid", false) == "abc.n1");
  CHECK(find_url_param("/app/page;jsessionid=abc.n1?x=1", "jsessionid", false) == "abc.n1");
  CHECK(find_url_param("/app;jsessionid=abc.n1/more", "jsessionid", false) == "abc.n1");
  CHECK(find_url_param("/app?jsessionid=abc.n2", "jsessionid", false) == "abc.n2");
  CHECK(find_url_param("/app?a=1&jsessionid=abc.n3&b=2", "jsessionid", false) == "abc.n3");
  CHECK(!find_url_param("/app/xjsessionid=abc.n1", "jsessionid", false));
  CHECK(!find_url_param("/app;xjsessionid=abc.n1", "jsessionid", false));
  CHECK(!find_url_param("/jsessionid=abc.n1", "jsessionid", false));
  CHECK(!find_url_param("/app?xjsessionid=abc.n1", "jsessionid", false));
  CHECK(!find_url_param("/app?q=jsessionid=abc.n1", "jsessionid", false));
  CHECK(!find_url_param("/app#;jsessionid=abc.n1", "jsessionid", false));
  CHECK(!find_url_param("balancer://jsessionid=abc.n1/", "jsessionid", false));
  CHECK(!find_url_param("/app;jsessionid=", "jsessionid", false));
  CHECK(!find_url_param("/app;jsessionid", "jsessionid", false));
}

TEST_CASE("url: scolonpathdelim ends the value at ';'", "[sticky][url]") {
  CHECK(find_url_param("/a;jsessionid=abc.n1;v=2", "jsessionid", false) == "abc.n1;v=2");
  CHECK(find_url_param("/a;jsessionid=abc.n1;v=2", "jsessionid", true) == "abc.n1");
  CHECK(find_url_param("/a?jsessionid=abc.n1;v=2", "jsessionid", true) == "abc.n1");
}

TEST_CASE("route: after the first separator, bounded and printable", "[sticky][route]") {
  CHECK(route_of("abc.isNode1", '.') == "isNode1");
  CHECK(route_of("a.b.c", '.') == "b.c");
  CHECK(!route_of("abc", '.'));
  CHECK(!route_of("abc.", '.'));
  CHECK(route_of("abc", '\0') == "abc");
  CHECK(route_of("abc!n1", '!') == "n1");
  CHECK(route_of("x." + std::string(kMaxRoute, 'r'), '.')->size() == kMaxRoute);
  CHECK(!route_of("x." + std::string(kMaxRoute + 1, 'r'), '.'));
  CHECK(!route_of("x.n\x01", '.'));
  CHECK(!route_of("x.n 1", '.'));
  CHECK(!route_of("x.n\xc3\xa9", '.'));  // non-ASCII
  CHECK(route_of("..", '.') == ".");
}

TEST_CASE("session route: URL first, then cookie; | gives separate names", "[sticky]") {
  StickyConfig cfg{"JSESSIONID", "jsessionid", '.', false};
  auto r = find_session_route(cfg, "/a;jsessionid=p.n1", "JSESSIONID=c.n2");
  REQUIRE(r);
  CHECK(r->route == "n1");
  CHECK(r->sticky_name == "jsessionid");
  r = find_session_route(cfg, "/a", "JSESSIONID=c.n2");
  REQUIRE(r);
  CHECK(r->route == "n2");
  CHECK(r->sticky_name == "JSESSIONID");
  // A URL value without a route falls through to the cookie.
  r = find_session_route(cfg, "/a;jsessionid=noroute", "JSESSIONID=c.n2");
  REQUIRE(r);
  CHECK(r->route == "n2");
  CHECK(!find_session_route(StickyConfig{}, "/a;jsessionid=p.n1", "JSESSIONID=c.n2"));
}

#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "core/routing/sticky.hpp"

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
  CHECK(route_of("x." + std::string(kMaxRouteChars, 'r'), '.')->size() == kMaxRouteChars);
  CHECK(!route_of("x." + std::string(kMaxRouteChars + 1, 'r'), '.'));
  CHECK(!route_of("x.n\x01", '.'));
  CHECK(!route_of("x.n 1", '.'));
  CHECK(!route_of("x.n\xc3\xa9", '.'));  // non-ASCII
  CHECK(route_of("..", '.') == ".");
}

TEST_CASE("session route: URL first, then cookie; | gives separate names", "[sticky]") {
  StickyConfig cfg{"JSESSIONID", "jsessionid", '.', false};
  auto r = find_session_route(cfg, "/a;jsessionid=p.n1", {}, "JSESSIONID=c.n2");
  REQUIRE(r);
  CHECK(r->route == "n1");
  CHECK(r->sticky_name == "jsessionid");
  r = find_session_route(cfg, "/a", {}, "JSESSIONID=c.n2");
  REQUIRE(r);
  CHECK(r->route == "n2");
  CHECK(r->sticky_name == "JSESSIONID");
  // A URL value without a route falls through to the cookie.
  r = find_session_route(cfg, "/a;jsessionid=noroute", {}, "JSESSIONID=c.n2");
  REQUIRE(r);
  CHECK(r->route == "n2");
  CHECK(!find_session_route(StickyConfig{}, "/a;jsessionid=p.n1", {}, "JSESSIONID=c.n2"));
}

TEST_CASE("url: a repeated parameter, the first value wins", "[sticky][url]") {
  CHECK(find_url_param("/a;jsessionid=s.n1;jsessionid=s.n2", "jsessionid", false) == "s.n1");
  CHECK(find_url_param("/a;jsessionid=s.n1;jsessionid=s.n2/b", "jsessionid", false) == "s.n1");
  CHECK(find_url_param("/a?jsessionid=s.n1&jsessionid=s.n2", "jsessionid", false) == "s.n1");
  // Another parameter after ';' still belongs to the value, as in stock.
  CHECK(find_url_param("/a;jsessionid=s.n1;jsessionidx=2", "jsessionid", false) ==
        "s.n1;jsessionidx=2");
  CHECK(find_url_param("/a;JSESSIONID=s.n1;jsessionid=s.n2", "jsessionid", false, true) == "s.n1");
}

TEST_CASE("query string apart from the path (r->args)", "[sticky][url]") {
  CHECK(find_query_arg("jsessionid=s.n2", "jsessionid", false) == "s.n2");
  CHECK(find_query_arg("a=1&jsessionid=s.n2&b=2", "jsessionid", false) == "s.n2");
  // The same answer as the query of a whole URL, for every form above and below.
  for (std::string_view q : {"jsessionid=s.n2", "a=1&jsessionid=s.n2&b=2", "a=1;jsessionid=s.n2",
                             "jsessionid=s.n2;x", "xjsessionid=s.n2", "&&jsessionid=s.n2"}) {
    for (bool semi : {false, true}) {
      CAPTURE(q, semi);
      const std::string url = "/a?" + std::string(q);
      CHECK(find_query_arg(q, "jsessionid", semi) == find_url_param(url, "jsessionid", semi));
    }
  }
  CHECK(!find_query_arg("xjsessionid=s.n2", "jsessionid", false));
  CHECK(!find_query_arg("a=jsessionid=s.n2", "jsessionid", false));
  CHECK(!find_query_arg("jsessionid=", "jsessionid", false));
  CHECK(!find_query_arg("", "jsessionid", false));
  CHECK(!find_query_arg("jsessionid=s.n2#f", "", false));
  CHECK(find_query_arg("jsessionid=s.n2#f", "jsessionid", false) == "s.n2");
  CHECK(find_query_arg("JSESSIONID=s.n2", "jsessionid", false, true) == "s.n2");
  CHECK(!find_query_arg("JSESSIONID=s.n2", "jsessionid", false, false));

  StickyConfig cfg{"JSESSIONID", "jsessionid", '.', false};
  auto r = find_session_route(cfg, "balancer://c/app/x", "jsessionid=s.n2", "JSESSIONID=c.n1");
  REQUIRE(r);
  CHECK(r->route == "n2");  // the URL (its query) before the cookie, as stock
  CHECK(r->sticky_name == "jsessionid");
  // A path parameter comes before the query.
  r = find_session_route(cfg, "balancer://c/app;jsessionid=p.n3", "jsessionid=s.n2", "");
  REQUIRE(r);
  CHECK(r->route == "n3");
}

// stickysession=NAME (no '|'): the cookie keeps its exact name, the URL forms match
// in any case; stickysession=COOKIE|path keeps stock's exact matching of both.
TEST_CASE("name case: cookie exact, URL any case only without '|'", "[sticky][case]") {
  const StickyConfig seed{"JSESSIONID", "JSESSIONID", '.', false, true};
  const StickyConfig piped{"JSESSIONID", "jsessionid", '.', false, false};
  const StickyConfig piped_upper{"JSESSIONID", "JSESSIONID", '.', false, false};
  struct Row {
    const StickyConfig* cfg;
    std::string_view url, query, cookie;
    std::optional<std::string_view> route;
  };
  const Row rows[] = {
      // The seed's config and Tomcat's URL rewriting.
      {&seed, "balancer://c/app;jsessionid=ABC.isNode2", "", "", "isNode2"},
      {&seed, "balancer://c/app;JSESSIONID=ABC.isNode2", "", "", "isNode2"},
      {&seed, "balancer://c/app;JSessionId=ABC.isNode2", "", "", "isNode2"},
      {&seed, "balancer://c/app", "jsessionid=ABC.isNode1", "", "isNode1"},
      {&seed, "balancer://c/app", "x=1&JsessionID=ABC.isNode1", "", "isNode1"},
      {&seed, "balancer://c/app", "", "JSESSIONID=ABC.isNode1", "isNode1"},
      {&seed, "balancer://c/app", "", "jsessionid=ABC.isNode1", std::nullopt},  // cookie exact
      // Near misses stay misses in any case.
      {&seed, "balancer://c/app;xjsessionid=ABC.isNode2", "", "", std::nullopt},
      {&seed, "balancer://c/app;jsessionidx=ABC.isNode2", "", "", std::nullopt},
      {&seed, "balancer://c/app;jsessionid_=ABC.isNode2", "", "", std::nullopt},
      {&seed, "balancer://c/jsessionid=ABC.isNode2", "", "", std::nullopt},
      {&seed, "balancer://c/app", "q=JSESSIONID=ABC.isNode2", "", std::nullopt},
      {&seed, "balancer://jsessionid=a.n1/app", "", "", std::nullopt},
      {&seed, "balancer://c/app;jsess1onid=ABC.isNode2", "", "", std::nullopt},
      // 'K' (0x4b) and the Kelvin sign are not 'k': only ASCII letters fold.
      {&seed, "balancer://c/app;\xe2\x84\xaaSESSIONID=ABC.isNode2", "", "", std::nullopt},
      // COOKIE|path: both names exact, as stock.
      {&piped, "balancer://c/app;jsessionid=ABC.isNode2", "", "", "isNode2"},
      {&piped, "balancer://c/app;JSESSIONID=ABC.isNode2", "", "", std::nullopt},
      {&piped, "balancer://c/app", "JSESSIONID=ABC.isNode2", "", std::nullopt},
      {&piped_upper, "balancer://c/app;jsessionid=ABC.isNode2", "", "", std::nullopt},
      {&piped_upper, "balancer://c/app;JSESSIONID=ABC.isNode2", "", "", "isNode2"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.url, row.query, row.cookie);
    auto r = find_session_route(*row.cfg, row.url, row.query, row.cookie);
    if (row.route) {
      REQUIRE(r);
      CHECK(r->route == *row.route);
    } else {
      CHECK(!r);
    }
  }
}

TEST_CASE("stickysession names that can never match are recognised", "[sticky][config]") {
  static_assert(sticky_names_usable("JSESSIONID", "JSESSIONID"));
  static_assert(sticky_names_usable("JSESSIONID", "jsessionid"));
  static_assert(sticky_names_usable("", ""));             // not sticky at all
  static_assert(!sticky_names_usable("", "jsessionid"));  // stickysession=|jsessionid
  static_assert(!sticky_names_usable(" ", "x"));
  static_assert(!sticky_names_usable("A", "b|c"));  // A|b|c
  static_assert(!sticky_names_usable("A", "|b"));   // A||b
  static_assert(!sticky_names_usable("A\t", "A\t"));
  SUCCEED();
}

TEST_CASE("sticky: the balancer's stickysession as the decision reads it", "[sticky]") {
  // stickysession=JSESSIONID: mod_proxy copies the name into both fields; the
  // path parameter then matches in any case (;jsessionid=).
  constexpr StickyConfig one = sticky_config("JSESSIONID", "JSESSIONID", '.', false);
  STATIC_REQUIRE(one.path_name_any_case);
  CHECK(one.cookie_name == "JSESSIONID");
  CHECK(one.separator == '.');
  CHECK(!one.semicolon_delimits);
  // stickysession=JSESSIONID|jsessionid: two names, each as written.
  const StickyConfig two = sticky_config("JSESSIONID", "jsessionid", '\0', true);
  CHECK(!two.path_name_any_case);
  CHECK(two.path_name == "jsessionid");
  CHECK(two.separator == '\0');
  CHECK(two.semicolon_delimits);
}

TEST_CASE("cookie: next_cookie walks the cookies of a name in header order",
          "[sticky][cookie][duplicate]") {
  const std::string_view h = "a=1; JSESSIONID=s1.n1; JSESSIONID=; b=2, JSESSIONID=\"s2.n2\"";
  std::size_t pos = 0;
  CHECK(next_cookie(h, "JSESSIONID", pos) == "s1.n1");
  CHECK(h.substr(pos).starts_with("; JSESSIONID=;"));
  CHECK(next_cookie(h, "JSESSIONID", pos) == "s2.n2");  // the empty one is skipped
  CHECK(!next_cookie(h, "JSESSIONID", pos));
  CHECK(!next_cookie(h, "JSESSIONID", pos));  // stays at the end
  pos = 0;
  CHECK(!next_cookie(h, "", pos));
  pos = h.size() + 5;
  CHECK(!next_cookie(h, "JSESSIONID", pos));
  // An over-long value is a cookie all the same, given as empty: the walk goes on.
  const std::string big =
      "JSESSIONID=" + std::string(kMaxSessionValue + 1, 'x') + "; JSESSIONID=v.n3";
  pos = 0;
  auto v = next_cookie(big, "JSESSIONID", pos);
  REQUIRE(v);
  CHECK(v->empty());
  CHECK(next_cookie(big, "JSESSIONID", pos) == "v.n3");
}

TEST_CASE("session route: where the cookies after the first begin", "[sticky][duplicate]") {
  StickyConfig cfg{"JSESSIONID", "jsessionid", '.', false};
  const std::string_view h = "JSESSIONID=a.gone; JSESSIONID=b.n2";
  std::size_t more = std::string_view::npos;
  auto r = find_session_route(cfg, "/a", {}, h, &more);
  REQUIRE(r);
  CHECK(r->route == "gone");  // still the first, as stock
  CHECK(more == h.find(';'));
  // A first cookie without a route, or an over-long one, still tells where the rest are.
  more = std::string_view::npos;
  CHECK(!find_session_route(cfg, "/a", {}, "JSESSIONID=noroute; JSESSIONID=b.n2", &more));
  CHECK(more == std::string_view("JSESSIONID=noroute").size());
  // A route in the URL decides: the cookies are not read.
  more = std::string_view::npos;
  CHECK(find_session_route(cfg, "/a;jsessionid=p.n1", {}, h, &more)->route == "n1");
  CHECK(more == std::string_view::npos);
  // No cookie of the name: left as it was.
  CHECK(!find_session_route(cfg, "/a", {}, "a=1; XJSESSIONID=x.n1", &more));
  CHECK(more == std::string_view::npos);
}

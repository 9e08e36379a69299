// Sticky-session extraction: pure functions over string_view, no allocation.
//
// Stock mod_proxy_balancer finds `name=` with strstr anywhere in the URL and the
// Cookie header. These functions match names only on a boundary:
//   - a cookie is matched by its whole name (`XJSESSIONID` is not `JSESSIONID`);
//   - in the path, only a real path parameter `;name=` counts;
//   - in the query, only a whole argument `?name=` / `&name=` counts.
// Values longer than kMaxSessionValue, and routes that are empty, longer than
// kMaxRouteChars (limits.hpp) or contain bytes outside printable ASCII, are treated as absent, so a
// hostile value gets a normal balancing decision.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/member/limits.hpp"

namespace isb {

inline constexpr std::size_t kMaxSessionValue = 4096;

// Cookies of the sticky name a request may have several of: one per path (`/`
// and `/app`), or a stale one from a member that is gone. The decision looks at
// the first kMaxSessionCookies of them (decision.hpp), so a header with thousands
// costs at most this many route lookups, and a scan of the header up to the last
// of them.
inline constexpr std::size_t kMaxSessionCookies = 8;

// Whether a balancer's stickysession names can ever match a session, as mod_proxy
// stores them (`cookie|path`; the same name twice without '|'). They cannot when
// there is a path name but no cookie name (stickysession=|x), or when either
// name still holds a '|', space or tab (stickysession= |x, A|b|c, A||b).
// Both empty: the balancer is not sticky, which is fine.
constexpr bool sticky_names_usable(std::string_view cookie, std::string_view path) noexcept {
  if (cookie.empty() && !path.empty()) return false;
  return cookie.find_first_of("| \t") == std::string_view::npos &&
         path.find_first_of("| \t") == std::string_view::npos;
}

struct StickyConfig {
  std::string_view cookie_name;     // stickysession=COOKIE|path: the part before '|'
  std::string_view path_name;       // the part after '|', or the same name
  char separator = '.';             // stickysessionsep; '\0' means the whole value is the route
  bool semicolon_delimits = false;  // scolonpathdelim
  // stickysession=NAME without '|': the path parameter and query argument match
  // NAME in any case. Servlet containers name the cookie JSESSIONID but rewrite
  // URLs with ";jsessionid=" (Servlet specification, 7.1.3), so the seed's own
  // `stickysession=JSESSIONID` would otherwise lose every cookieless session.
  // Stock compares case-sensitively; the cookie name always is.
  bool path_name_any_case = false;
};

// A balancer's stickysession as mod_proxy keeps it (`cookie` and `path`, the
// same name twice when it was given without '|'), stickysessionsep and
// scolonpathdelim, as the decision reads them.
constexpr StickyConfig sticky_config(std::string_view cookie, std::string_view path, char separator,
                                     bool semicolon_delimits) noexcept {
  StickyConfig c;
  c.cookie_name = cookie;
  c.path_name = path;
  c.separator = separator;
  c.semicolon_delimits = semicolon_delimits;
  c.path_name_any_case = cookie == path;
  return c;
}

// Value of the first cookie called `name` with a non-empty value, in a Cookie
// header ("a=1; b=2", and the legacy ',' separator). Surrounding double quotes are
// removed.
std::optional<std::string_view> find_cookie(std::string_view header,
                                            std::string_view name) noexcept;

// The next cookie called `name` with a non-empty value at or after offset `pos`
// of `header`, as find_cookie finds the first; `pos` moves just past it. An empty
// value stands for one that is ignored (longer than kMaxSessionValue); nothing
// when there is no further cookie of that name.
std::optional<std::string_view> next_cookie(std::string_view header, std::string_view name,
                                            std::size_t& pos) noexcept;

// Value of `name` given as a path parameter (";name=v") or a query argument
// ("?name=v", "&name=v") in `url`. `url` may carry a scheme and authority
// ("balancer://c/app;jsessionid=v"); they are skipped. When the parameter is
// repeated, the first value wins: a ';' that starts the same name again ends it.
std::optional<std::string_view> find_url_param(std::string_view url, std::string_view name,
                                               bool semicolon_delimits,
                                               bool any_case = false) noexcept;

// Value of `name` as an argument of a query string without its '?' ("a=1&name=v"),
// as httpd keeps it apart from the path (r->args) once mod_proxy has canonicalised
// the URL.
std::optional<std::string_view> find_query_arg(std::string_view query, std::string_view name,
                                               bool semicolon_delimits,
                                               bool any_case = false) noexcept;

// The route part of a session value: what follows the first `separator`, or the
// whole value when `separator` is '\0'. Nothing when there is no separator, or the
// route is empty, too long or not printable ASCII.
std::optional<std::string_view> route_of(std::string_view value, char separator) noexcept;

// Where a route was found.
struct SessionRoute {
  std::string_view route;
  std::string_view sticky_name;  // the name that carried it (path name or cookie name)
};

// Stock order: the URL first (path name: path parameter, then query argument, in
// `url` or else in `query`), then the Cookie header (cookie name), its first
// cookie of that name. When the URL gave no route and the header has a cookie of
// that name (with or without a route), `*more_cookies` (if given) is set to the
// offset just past that cookie, where next_cookie finds the others; otherwise it
// is left as it was.
std::optional<SessionRoute> find_session_route(const StickyConfig& cfg, std::string_view url,
                                               std::string_view query,
                                               std::string_view cookie_header,
                                               std::size_t* more_cookies = nullptr) noexcept;

}  // namespace isb

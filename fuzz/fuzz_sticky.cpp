// libFuzzer target: everything that parses a client's sticky-session input.
//
// The input is split into a configuration (the first bytes choose the separator,
// the scolonpathdelim flag and case-insensitive URL names), a URL and a Cookie
// header, so one corpus entry exercises find_url_param, find_query_arg,
// find_cookie, next_cookie (the walk over several cookies of one name that the
// decision makes when the first one's route is stale), route_of and
// find_session_route. The checks are the parsers' contracts: results lie inside
// the input, are bounded, and routes are printable ASCII; the walk moves forward
// and starts with find_cookie's cookie.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/routing/sticky.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const char separator = static_cast<char>(data[0]);
  const bool semicolon = (data[1] & 1) != 0;
  const bool any_case = (data[1] & 2) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  // URL and Cookie header are separated by the first '\n'.
  std::size_t nl = rest.find('\n');
  std::string_view url = rest.substr(0, nl);
  std::string_view cookie = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);

  for (std::string_view name : {std::string_view("JSESSIONID"), std::string_view("jsessionid"),
                                std::string_view("j"), std::string_view("")}) {
    if (auto v = isb::find_cookie(cookie, name)) {
      require(!name.empty() && inside(*v, cookie) && !v->empty() &&
              v->size() <= isb::kMaxSessionValue);
    }
    // Every cookie of the name, in header order (each step moves past a '=').
    std::size_t pos = 0;
    bool first = true;
    while (auto v = isb::next_cookie(cookie, name, pos)) {
      require(!name.empty() && pos <= cookie.size() && v->size() <= isb::kMaxSessionValue);
      require(v->empty() || (inside(*v, cookie) && v->data() + v->size() <= cookie.data() + pos));
      if (first) {
        require(v->empty() ? !isb::find_cookie(cookie, name)
                           : isb::find_cookie(cookie, name) == *v);
      }
      first = false;
    }
    if (first) require(!isb::find_cookie(cookie, name));
    if (auto v = isb::find_url_param(url, name, semicolon, any_case)) {
      require(!name.empty() && inside(*v, url) && !v->empty() &&
              v->size() <= isb::kMaxSessionValue);
    }
    if (auto v = isb::find_query_arg(url, name, semicolon, any_case)) {
      require(!name.empty() && inside(*v, url) && !v->empty() &&
              v->size() <= isb::kMaxSessionValue);
    }
  }
  if (auto r = isb::route_of(rest, separator)) {
    require(inside(*r, rest) && !r->empty() && r->size() <= isb::kMaxRouteChars);
    for (char c : *r) require(c > 0x20 && c < 0x7f);
  }
  isb::StickyConfig cfg{"JSESSIONID", "jsessionid", separator, semicolon, any_case};
  // The URL doubles as the query string (r->args) in this target.
  std::size_t more = std::string_view::npos;
  if (auto s = isb::find_session_route(cfg, url, url, cookie, &more)) {
    require(inside(s->route, url) || inside(s->route, cookie));
    require(s->sticky_name == "JSESSIONID" || s->sticky_name == "jsessionid");
    require(!s->route.empty() && s->route.size() <= isb::kMaxRouteChars);
    // A route from the cookie tells where the cookies after it begin.
    if (inside(s->route, cookie) && !inside(s->route, url)) require(more != std::string_view::npos);
  }
  if (more != std::string_view::npos) {
    // Just past the first cookie of the name: where next_cookie stops after it.
    std::size_t pos = 0;
    require(isb::next_cookie(cookie, "JSESSIONID", pos).has_value() && pos == more);
  }
  return 0;
}

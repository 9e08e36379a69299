#include "sticky.hpp"

namespace isb {
namespace {

constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

constexpr std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

constexpr bool printable_ascii(std::string_view s) noexcept {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

// Value that starts at `v` and ends at the first of `stops` (or the end).
std::string_view take_until(std::string_view v, std::string_view stops) noexcept {
  std::size_t end = v.find_first_of(stops);
  return end == std::string_view::npos ? v : v.substr(0, end);
}

std::optional<std::string_view> bounded(std::string_view v) noexcept {
  if (v.empty() || v.size() > kMaxSessionValue) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::string_view> find_cookie(std::string_view header,
                                            std::string_view name) noexcept {
  if (name.empty()) return std::nullopt;
  while (!header.empty()) {
    std::size_t end = header.find_first_of(";,");
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (value.empty()) continue;  // stock skips empty values and keeps looking
    return bounded(value);
  }
  return std::nullopt;
}

std::optional<std::string_view> find_url_param(std::string_view url, std::string_view name,
                                               bool semicolon_delimits) noexcept {
  if (name.empty()) return std::nullopt;
  // Skip "scheme://authority" so a balancer or host name never matches.
  if (std::size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    std::size_t path = url.find('/', scheme + 3);
    url = path == std::string_view::npos ? std::string_view{} : url.substr(path);
  }
  url = take_until(url, "#");
  std::size_t q = url.find('?');
  std::string_view path = q == std::string_view::npos ? url : url.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : url.substr(q + 1);

  // Path parameters: ";name=value" ending at '/', '?', '&' and, with
  // scolonpathdelim, at the next ';'.
  const std::string_view path_stops = semicolon_delimits ? "/;?&" : "/?&";
  for (std::size_t at = path.find(';'); at != std::string_view::npos; at = path.find(';', at + 1)) {
    std::string_view rest = path.substr(at + 1);
    if (rest.size() > name.size() && rest.substr(0, name.size()) == name &&
        rest[name.size()] == '=') {
      std::string_view v = take_until(rest.substr(name.size() + 1), path_stops);
      if (!v.empty()) return bounded(v);
    }
  }
  // Query arguments: "name=value" as a whole argument.
  const std::string_view query_stops = semicolon_delimits ? "&;" : "&";
  while (!query.empty()) {
    std::size_t end = query.find('&');
    std::string_view arg = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view{} : query.substr(end + 1);
    if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
      std::string_view v = take_until(arg.substr(name.size() + 1), query_stops);
      if (!v.empty()) return bounded(v);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> route_of(std::string_view value, char separator) noexcept {
  std::string_view route = value;
  if (separator != '\0') {
    std::size_t at = value.find(separator);
    if (at == std::string_view::npos) return std::nullopt;
    route = value.substr(at + 1);
  }
  if (route.empty() || route.size() > kMaxRoute || !printable_ascii(route)) return std::nullopt;
  return route;
}

std::optional<SessionRoute> find_session_route(const StickyConfig& cfg, std::string_view url,
                                               std::string_view cookie_header) noexcept {
  if (cfg.cookie_name.empty()) return std::nullopt;
  if (auto v = find_url_param(url, cfg.path_name, cfg.semicolon_delimits)) {
    if (auto r = route_of(*v, cfg.separator)) return SessionRoute{*r, cfg.path_name};
  }
  if (auto v = find_cookie(cookie_header, cfg.cookie_name)) {
    if (auto r = route_of(*v, cfg.separator)) return SessionRoute{*r, cfg.cookie_name};
  }
  return std::nullopt;
}

}  // namespace isb

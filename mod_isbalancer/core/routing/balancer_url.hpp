// A request's balancer:// URL: whether a URL is one, and which configured
// balancer it names. Per request, so inline and without copies.
#pragma once

#include <cstddef>
#include <string_view>

namespace isb {

inline constexpr std::string_view kBalancerPrefix = "balancer://";

// ASCII case-insensitive: whether the NUL-terminated `text` starts with `prefix`
// (given in lower case). Stops at the end of `text`.
inline bool starts_with_nocase(const char* text, std::string_view prefix) noexcept {
  for (char want : prefix) {
    char c = *text++;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != want) return false;
  }
  return true;
}

// Whether `url` is a balancer URL ("balancer://", any case).
inline bool is_balancer_url(const char* url) noexcept {
  return starts_with_nocase(url, kBalancerPrefix);
}

// Whether `configured` (a balancer's name as mod_proxy keeps it, "balancer://"
// and the name in lower case) is the balancer `name` (without "balancer://"),
// in any case.
inline bool names_balancer(std::string_view configured, std::string_view name) noexcept {
  if (configured.size() != kBalancerPrefix.size() + name.size()) return false;
  configured.remove_prefix(kBalancerPrefix.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    char a = configured[i];
    char b = name[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// The balancer name of "balancer://name/path...": what comes before the path.
inline std::string_view balancer_of_url(std::string_view url) noexcept {
  url.remove_prefix(kBalancerPrefix.size() < url.size() ? kBalancerPrefix.size() : url.size());
  return url.substr(0, url.find('/'));
}

// The balancer URL "balancer://host/rest" as ap_proxy_canon_netloc would leave
// it: a host of [a-z0-9._-] with at least one non-digit (no user, no port,
// nothing to lower-case; an all-digit host would be taken for a port and
// refused), followed by '/'. Then canon_handler has nothing to change.
inline bool balancer_host_is_canonical(const char* url) noexcept {
  for (std::size_t i = 0; i < kBalancerPrefix.size(); ++i) {
    if (url[i] != kBalancerPrefix[i]) return false;  // stops at the end of `url`
  }
  const char* h = url + kBalancerPrefix.size();
  bool non_digit = false;
  for (; *h != '/'; ++h) {
    const char c = *h;
    if ((c >= 'a' && c <= 'z') || c == '.' || c == '-' || c == '_') {
      non_digit = true;
    } else if (c < '0' || c > '9') {
      return false;  // includes the end of the string: no '/'
    }
  }
  return non_digit;
}

}  // namespace isb

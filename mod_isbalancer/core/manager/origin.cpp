#include "core/manager/origin.hpp"

#include <algorithm>

#include "core/text/host.hpp"

namespace isb {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_name_char(char c) {
  c = lower(c);
  return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '.';
}

// "http" or "https" in any case, lower-cased; empty otherwise.
std::string web_scheme(std::string_view s) {
  std::string out = lower_ascii(s);
  return out == "http" || out == "https" ? out : std::string{};
}

// A dotted run of digits must be an IPv4 address: four parts, each 0..255.
bool valid_ipv4(std::string_view host) {
  int parts = 0;
  while (true) {
    const std::size_t dot = host.find('.');
    const std::string_view part = host.substr(0, dot);
    if (part.empty() || part.size() > 3 || ++parts > 4) return false;
    unsigned v = 0;
    for (char c : part) v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 255) return false;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// A DNS name: labels of letters, digits and '-', not empty, not starting or
// ending with '-'; all digits and dots is an IPv4 address instead.
bool valid_name(std::string_view host) {
  if (std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; })) {
    return valid_ipv4(host);
  }
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), is_name_char)) {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

// The host of an origin, normalised: a DNS name or IPv4 address lower-cased,
// an IPv6 address in brackets in its canonical form.
std::optional<std::string> normal_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return std::nullopt;
  if (host.front() == '[') return canonical_ipv6(host);
  if (!valid_name(host)) return std::nullopt;
  return lower_ascii(host);
}

// "1".."65535" without a sign or leading zero; 0 when it is not one.
unsigned parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || s.front() == '0') return 0;
  unsigned v = 0;
  for (char c : s) {
    if (!is_digit(c)) return 0;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v <= 65535 ? v : 0;
}

// scheme (already normalised) + "://" + authority (host[:port]), normalised.
std::optional<std::string> make_origin(const std::string& scheme, std::string_view authority) {
  if (scheme.empty()) return std::nullopt;
  const auto [host, port] = split_host_port(authority);
  if (!port.empty() || authority.ends_with(':')) {
    if (parse_port(port) == 0) return std::nullopt;
  }
  const auto normal = normal_host(host);
  if (!normal) return std::nullopt;
  std::string out = scheme + "://" + *normal;
  const std::string_view default_port = scheme == "https" ? "443" : "80";
  if (!port.empty() && port != default_port) {
    out += ':';
    out += port;
  }
  return out;
}

bool is_one_of(const std::string& origin, std::string_view own, const OriginPolicy& policy) {
  return origin == own ||
         std::find(policy.trusted.begin(), policy.trusted.end(), origin) != policy.trusted.end();
}

// Shell-style match of `text` against `pattern` ('*' any run, '?' one
// character), both lower-case; iterative, linear in practice for host names.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The host part of a Host header: "[::1]" of "[::1]:8080", "a.example" of
// "a.example:80"; lower-cased.
std::string host_part(std::string_view host) {
  return lower_ascii(split_host_port(host).host);
}

}  // namespace

bool host_allowed(std::string_view host_header, const HostNames& names) {
  std::string host = host_part(host_header);
  if (host.empty()) return false;
  if (host.front() == '[') host = canonical_ipv6(host).value_or(host);
  if (host == "localhost") return true;
  const std::string local = lower_ascii(names.local_ip);
  const bool bracketed_local = host.size() == local.size() + 2 && host.front() == '[' &&
                               host.back() == ']' && host.compare(1, local.size(), local) == 0;
  if (!local.empty() && (host == local || bracketed_local)) return true;
  for (const std::string& name : names.exact) {
    if (host == lower_ascii(name)) return true;
  }
  for (const std::string& pattern : names.patterns) {
    if (glob_match(lower_ascii(pattern), host)) return true;
  }
  for (const std::string& origin : names.trusted) {
    const std::size_t sep = origin.find("://");
    if (sep != std::string::npos && host == host_part(std::string_view(origin).substr(sep + 3))) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> parse_origin(std::string_view text) {
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string_view authority = text.substr(sep + 3);
  if (authority.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  return make_origin(web_scheme(text.substr(0, sep)), authority);
}

std::optional<std::string> origin_of_url(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  return make_origin(web_scheme(url.substr(0, sep)), authority);
}

std::optional<std::string> origin_of_host(std::string_view scheme, std::string_view host) {
  if (host.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  return make_origin(web_scheme(scheme), host);
}

std::optional<OriginRefusal> check_edit_origin(const EditHeaders& h, std::string_view own,
                                               const OriginPolicy& policy) {
  constexpr std::string_view kTrustHint =
      "; if that origin is yours (a proxy in front of httpd, say), list it with "
      "ISBalancerManagerTrustedOrigin";
  if (h.sec_fetch_site && lower_ascii(*h.sec_fetch_site) == "cross-site") {
    return OriginRefusal{"Sec-Fetch-Site", "a cross-site request may not edit"};
  }
  if (h.origin) {
    auto origin = parse_origin(*h.origin);
    if (!origin) {
      return OriginRefusal{"Origin", "an opaque or malformed Origin may not edit"};
    }
    if (!is_one_of(*origin, own, policy)) {
      return OriginRefusal{"Origin", "the request comes from another origin (" + *origin + ")" +
                                         std::string(kTrustHint)};
    }
    return std::nullopt;
  }
  if (h.referer) {
    auto origin = origin_of_url(*h.referer);
    if (!origin || !is_one_of(*origin, own, policy)) {
      return OriginRefusal{"Referer", "the request comes from another origin (" +
                                          origin.value_or("not a URL") + ")" +
                                          std::string(kTrustHint)};
    }
    return std::nullopt;
  }
  if (policy.script_edits && !h.any_sec_fetch) return std::nullopt;
  return OriginRefusal{
      "Referer",
      h.any_sec_fetch
          ? "a browser's edit carries an Origin or a Referer of this page's origin"
          : "an edit without Origin needs a Referer of this page's origin; scripts that send "
            "neither (such as ansible's apache2_mod_proxy) may edit with the nonce once "
            "ISBalancerManagerScriptEdits is On"};
}

}  // namespace isb

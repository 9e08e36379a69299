#include "origin.hpp"

#include <algorithm>

namespace isb {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
}

bool is_name_char(char c) {
  c = lower(c);
  return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '.';
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// "http" or "https" in any case, lower-cased; empty otherwise.
std::string web_scheme(std::string_view s) {
  std::string out = lowered(s);
  return out == "http" || out == "https" ? out : std::string{};
}

// A host as an origin may carry it: a DNS name or IPv4 address (letters, digits,
// '-' and '.', not starting or ending with '.'), or a bracketed IPv6 address.
bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  if (host.front() == '[') {
    if (host.size() < 4 || host.back() != ']') return false;
    std::string_view inner = host.substr(1, host.size() - 2);
    return std::all_of(inner.begin(), inner.end(),
                       [](char c) { return is_hex(c) || c == ':' || c == '.'; }) &&
           inner.find(':') != std::string_view::npos;
  }
  return host.front() != '.' && host.back() != '.' &&
         std::all_of(host.begin(), host.end(), is_name_char);
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
  std::string_view host = authority;
  std::string_view port;
  // The port follows the last ':' that is not inside an IPv6 literal.
  const std::size_t bracket = authority.rfind(']');
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (parse_port(port) == 0) return std::nullopt;
  }
  if (!valid_host(host)) return std::nullopt;
  std::string out = scheme + "://" + lowered(host);
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

}  // namespace

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
  if (h.sec_fetch_site && lowered(*h.sec_fetch_site) == "cross-site") {
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

// Where a balancer-manager edit may come from: the CSRF check that runs before
// the nonce is compared. Pure functions over header values; the httpd layer
// reads the headers and the configuration, and refuses with 403 what this says.
//
// An origin here is RFC 6454's serialisation, normalised: lower-case scheme and
// host, the scheme's default port left out ("https://admin.example.com",
// "http://127.0.0.1:8080"). Two origins are the same when their strings are.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace isb {

// `text` normalised when it is exactly scheme://host[:port], with scheme http or
// https, host a DNS name, an IPv4 address or a bracketed IPv6 address, port
// 1..65535, and nothing else (no user information, path, query or fragment).
std::optional<std::string> parse_origin(std::string_view text);

// The origin of an absolute http(s) URL such as a Referer; nullopt when it is
// not one or carries user information.
std::optional<std::string> origin_of_url(std::string_view url);

// The origin a request was sent to: the scheme it came in on and its Host header.
std::optional<std::string> origin_of_host(std::string_view scheme, std::string_view host);

// What a request says of where it comes from. An absent header is nullopt.
struct EditHeaders {
  std::optional<std::string_view> origin = {};
  std::optional<std::string_view> referer = {};
  std::optional<std::string_view> sec_fetch_site = {};
  bool any_sec_fetch = false;  // any Sec-Fetch-* header at all
};

// The operator's settings: ISBalancerManagerTrustedOrigin (normalised origins)
// and ISBalancerManagerScriptEdits.
struct OriginPolicy {
  std::span<const std::string> trusted;
  bool script_edits = false;
};

struct OriginRefusal {
  std::string header;  // the header that decided it
  std::string message;
};

// nullopt when an edit may go on to the nonce check:
// - `Sec-Fetch-Site: cross-site` is refused;
// - an `Origin` must be `own` (the page's own origin) or a trusted one;
// - without `Origin`, a `Referer` must be of such an origin;
// - without either, the edit is refused, unless the policy accepts scripts and
//   the request carries no Sec-Fetch-* header (a browser always sends `Origin`
//   on a cross-site POST, and Sec-Fetch-* on every request; a script sends
//   neither).
std::optional<OriginRefusal> check_edit_origin(const EditHeaders& headers, std::string_view own,
                                               const OriginPolicy& policy);

// Who the page answers (DNS rebinding: a page of evil.example whose name the
// attacker points at 127.0.0.1 reaches the manager with "Host: evil.example",
// and would read the nonces). The names the virtual host answers to.
struct HostNames {
  std::span<const std::string> exact;     // ServerName, ServerAlias without wildcards
  std::span<const std::string> patterns;  // ServerAlias with '*' or '?'
  std::string_view local_ip;              // the address the connection came in on
  std::span<const std::string> trusted;   // normalised origins (ISBalancerManagerTrustedOrigin)
};

// Whether a request with this Host header (port included, or not) may see the
// manager: its host is one of the names, "localhost", the local address of the
// connection (an IP literal), or the host of a trusted origin. Case is ignored.
bool host_allowed(std::string_view host_header, const HostNames& names);

}  // namespace isb

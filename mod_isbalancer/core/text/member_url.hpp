// A member's URL canonicalised as mod_proxy_http's canon handler would
// (httpd/canon.hpp does the rest): whether that can be done directly, given the
// canon handlers mod_proxy runs; the member's scheme; and the prefix
// "scheme://host[:port]/" the canonical URL starts with.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace isb {

// One canon handler, as mod_proxy's canon hook lists them (in the order they run,
// ours left out): the module it belongs to, and whether that module is loaded
// (found by its source name).
struct CanonHandler {
  std::string_view module;  // "mod_proxy_http.c", ...
  bool loaded = false;
};

struct CanonPlan {
  bool direct = false;  // canonicalise http(s) member URLs without the hook chain
  // With `direct`: the modules whose trace logging sends a request through the
  // hook chain after all (so that their trace lines are written as before):
  // those whose handlers decline http(s) URLs before mod_proxy_http's, then
  // mod_proxy_http itself.
  std::vector<std::string_view> traced;
  std::string_view why;  // without `direct`: why not
};

// Decides from the hook chain: directly only when mod_proxy_http is loaded,
// mod_proxy has what it takes (`api_complete`: ap_proxy_canonenc_ex and the
// chain itself), and every handler before mod_proxy_http's is a stock one known
// to decline http(s) URLs.
CanonPlan plan_canon(bool http_loaded, bool api_complete, std::span<const CanonHandler> chain);

// The scheme of an http(s) URL as proxy_http_canon tests it ("http:" or
// "https:", any case), in lower case, and in `skip` the length of "scheme:";
// empty for any other URL (ws:, ajp:, unix: ... keep the chain).
std::string_view http_scheme(std::string_view url, std::size_t& skip) noexcept;

// The default port of an http_scheme(): 443 for https, 80 for http.
int default_port(std::string_view scheme) noexcept;

// "scheme://host[:port]/" as proxy_http_canon writes it from what
// ap_proxy_canon_netloc gave: an IPv6 host in brackets, the port only when it is
// not the scheme's default.
std::string canon_prefix(std::string_view scheme, std::string_view host, int port);

}  // namespace isb

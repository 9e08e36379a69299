#include "core/text/member_url.hpp"

#include <algorithm>
#include <array>

namespace isb {
namespace {

// Canon handlers of stock modules that return DECLINED for http: and https: URLs
// (each checks its own scheme first; mod_proxy_wstunnel may log "canon fallback"
// at trace5 before it declines, hence the trace check the plan asks for).
constexpr std::array<std::string_view, 8> kDeclinesHttp = {
    "mod_proxy_ajp.c", "mod_proxy_fcgi.c",  "mod_proxy_scgi.c",   "mod_proxy_uwsgi.c",
    "mod_proxy_ftp.c", "mod_proxy_http2.c", "mod_proxy_fdpass.c", "mod_proxy_wstunnel.c",
};

}  // namespace

CanonPlan plan_canon(bool http_loaded, bool api_complete, std::span<const CanonHandler> chain) {
  CanonPlan plan;
  if (!http_loaded) {
    plan.why = "mod_proxy_http is not loaded";
    return plan;
  }
  if (!api_complete) {
    plan.why = "mod_proxy lacks ap_proxy_canonenc_ex or proxy_hook_get_canon_handler";
    return plan;
  }
  for (const CanonHandler& h : chain) {
    if (h.module == "mod_proxy_http.c") {
      plan.traced.push_back(h.module);
      plan.direct = true;
      return plan;
    }
    const bool known =
        std::find(kDeclinesHttp.begin(), kDeclinesHttp.end(), h.module) != kDeclinesHttp.end();
    // Each of them at most once: a chain longer than that is not a stock one.
    if (!known || !h.loaded || plan.traced.size() + 1 >= kDeclinesHttp.size() + 1) {
      plan.traced.clear();
      plan.why = "another module's canon handler runs before mod_proxy_http's";
      return plan;
    }
    plan.traced.push_back(h.module);
  }
  plan.traced.clear();
  plan.why = "mod_proxy_http has no canon handler";
  return plan;
}

std::string_view http_scheme(std::string_view url, std::size_t& skip) noexcept {
  auto starts = [url](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      char c = url[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (starts("http:")) {
    skip = 5;
    return "http";
  }
  if (starts("https:")) {
    skip = 6;
    return "https";
  }
  return {};
}

int default_port(std::string_view scheme) noexcept {
  return scheme == "https" ? 443 : 80;
}

std::string canon_prefix(std::string_view scheme, std::string_view host, int port) {
  const bool ipv6 = host.find(':') != std::string_view::npos;
  std::string out(scheme);
  out += "://";
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  if (port != default_port(scheme)) {
    out += ':';
    out += std::to_string(port);
  }
  out += '/';
  return out;
}

}  // namespace isb

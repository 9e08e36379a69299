#include "canon.hpp"

#include <http_core.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/routing/balancer_url.hpp"
#include "core/text/member_url.hpp"
#include "log_ids.hpp"
#include "proxy_api.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {

int canon_handler(request_rec* r, char* url) noexcept;  // request_path.hpp

namespace {

struct Plan {
  bool enabled = false;
  // mod_proxy_http and the modules whose handlers run before it for an http(s)
  // URL: if a request logs any of them at trace1 or more, the real chain runs, so
  // that their trace lines are written as before.
  std::array<int, 9> traced{};  // module_index; core/text/member_url.hpp says which
  std::size_t n_traced = 0;
};

Plan g_plan;

bool traced(const request_rec* r) noexcept {
  for (std::size_t i = 0; i < g_plan.n_traced; ++i) {
    if (ap_get_request_module_loglevel(r, g_plan.traced[i]) >= APLOG_TRACE1) return true;
  }
  return false;
}

}  // namespace

void plan_member_canon(server_rec* s) noexcept {
  g_plan = Plan{};
  const ProxyApi& api = proxy_api();
  module* http = ap_find_linked_module("mod_proxy_http.c");
  apr_array_header_t* hooks = api.get_canon_handler ? api.get_canon_handler() : nullptr;
  // The canon hook chain as it runs, ours (balancer: URLs only) left out.
  CanonPlan plan;
  try {
    std::vector<CanonHandler> chain;
    const auto* links =
        hooks ? reinterpret_cast<const proxy_LINK_canon_handler_t*>(hooks->elts) : nullptr;
    for (int i = 0; links != nullptr && i < hooks->nelts; ++i) {
      if (links[i].pFunc == &canon_handler) continue;
      const char* name = links[i].szName ? links[i].szName : "";
      chain.push_back({name, ap_find_linked_module(name) != nullptr});
    }
    plan = plan_canon(http != nullptr, api.canonenc_ex != nullptr && hooks != nullptr, chain);
  } catch (...) {
    plan = CanonPlan{false, {}, "out of memory"};
  }
  for (std::string_view name : plan.traced) {
    if (g_plan.n_traced == g_plan.traced.size()) break;
    g_plan.traced[g_plan.n_traced++] = ap_find_linked_module(name.data())->module_index;
  }
  g_plan.enabled = plan.direct;
  const char* why = plan.why.empty() ? nullptr : plan.why.data();
  ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
               ISB_LOGNO(00041) "member URLs are canonicalised %s%s%s",
               g_plan.enabled ? "directly, as mod_proxy_http's canon handler would"
                              : "by mod_proxy's canon hooks",
               why ? ": " : "", why ? why : "");
}

const MemberUrl* make_member_url(const proxy_worker* worker, apr_pool_t* pool) noexcept {
  auto* m = static_cast<MemberUrl*>(apr_pcalloc(pool, sizeof(MemberUrl)));
  m->worker = worker;
  m->name = apr_pstrdup(pool, worker->s->name_ex);
  m->path = "";
  std::size_t skip = 0;
  const std::string_view scheme = http_scheme(m->name, skip);
  if (scheme.empty()) return m;
  // As proxy_http_canon: ap_proxy_canon_netloc on "//host:port[/...]".
  char* rest = apr_pstrdup(pool, m->name + skip);
  char* host = nullptr;
  auto port = static_cast<apr_port_t>(default_port(scheme));
  if (proxy_api().canon_netloc(pool, &rest, nullptr, nullptr, &host, &port) != nullptr) return m;
  try {
    const std::string prefix = canon_prefix(scheme, host, port);
    m->prefix = apr_pstrmemdup(pool, prefix.data(), prefix.size());
    m->prefix_len = prefix.size();
  } catch (...) {
    return m;  // no memory: this member keeps mod_proxy's hook chain
  }
  m->has_path = std::strchr(m->name + skip + 2, '/') != nullptr;
  m->path = rest;
  m->path_len = std::strlen(rest);
  return m;
}

bool canon_member_url(request_rec* r, const proxy_worker* worker, const MemberUrl* m,
                      const char* path, char** url) noexcept {
  // ap_proxy_canon_url(): a reverse-proxy request, no ProxyPassInterpolateEnv
  // (which would rebuild the per-request ProxyPassReverse tables), no UDS member
  // (a "unix:" name is not http/https, so has no prefix).
  if (!g_plan.enabled || m == nullptr || m->prefix == nullptr || path == nullptr ||
      r->proxyreq != PROXYREQ_REVERSE || m->worker != worker ||
      std::strcmp(m->name, worker->s->name_ex) != 0) {
    return false;
  }
  const auto* dconf = static_cast<const proxy_dir_conf*>(
      ap_get_module_config(r->per_dir_config, proxy_api().proxy_module));
  if (dconf->interpolate_env == 1 || traced(r)) return false;

  // proxy_http_canon() sees name_ex + path after the netloc: the member's own path
  // (if name_ex has one) followed by the request path, or the request path
  // without its leading '/'.
  const char* in = path + 1;
  if (m->has_path) in = m->path_len == 0 ? path : apr_pstrcat(r->pool, m->path, path, nullptr);

  const char* out = nullptr;
  const char* search = nullptr;
  if (apr_table_get(r->notes, "proxy-nocanon") != nullptr) {
    out = in;
  } else if (apr_table_get(r->notes, "proxy-noencode") != nullptr) {
    out = in;
    search = r->args;
  } else {
    const auto* d =
        static_cast<const core_dir_config*>(ap_get_core_module_config(r->per_dir_config));
    const int flags = d->allow_encoded_slashes && !d->decode_encoded_slashes
                          ? PROXY_CANONENC_NOENCODEDSLASHENCODING
                          : 0;
    out = proxy_api().canonenc_ex(r->pool, in, static_cast<int>(std::strlen(in)), enc_path, flags,
                                  r->proxyreq);
    if (out == nullptr) return false;  // mod_proxy_http answers 400
    search = r->args;
  }
  // A raw path or query with a control character or a space: mod_proxy_http
  // answers 403 and logs it; let it.
  if ((out == in && *ap_scan_vchar_obstext(out) != '\0') ||
      (search != nullptr && *ap_scan_vchar_obstext(search) != '\0')) {
    return false;
  }

  // "proxy:" prefix path ["?" search], and the same without "proxy:" for *url.
  const std::size_t out_len = std::strlen(out);
  const std::size_t search_len = search ? std::strlen(search) + 1 : 0;
  const std::size_t len = m->prefix_len + out_len + search_len;
  auto* buf = static_cast<char*>(apr_palloc(r->pool, 6 + len + 1 + len + 1));
  char* p = buf;
  std::memcpy(p, "proxy:", 6);
  p += 6;
  std::memcpy(p, m->prefix, m->prefix_len);
  p += m->prefix_len;
  std::memcpy(p, out, out_len);
  p += out_len;
  if (search != nullptr) {
    *p++ = '?';
    std::memcpy(p, search, search_len - 1);
    p += search_len - 1;
  }
  *p++ = '\0';
  std::memcpy(p, buf + 6, len + 1);
  r->filename = buf;
  *url = p;
  return true;
}

bool balancer_url_is_canonical(const request_rec* r, const char* url) noexcept {
  // ap_proxy_canon_netloc leaves such a URL as it is (core/routing/balancer_url.hpp),
  // and the result is "balancer://" host "/" rest: the input itself.
  return balancer_host_is_canonical(url) && r->filename != nullptr &&
         std::strncmp(r->filename, "proxy:", 6) == 0 && std::strcmp(r->filename + 6, url) == 0;
}

}  // namespace isb::httpd

#include "manager_handler.hpp"

#include <apr_time.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "../core/manager_model.hpp"
#include "log_ids.hpp"
#include "process_state.hpp"
#include "proxy_api.hpp"
#include "worker_table.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {
namespace {

enum class Format { kHtml, kJson, kPrometheus, kBad };

// The only parameter this read-only version takes is format=html|json|prometheus.
Format requested_format(request_rec* r, std::string& bad) {
  Format f = Format::kHtml;
  if (r->args == nullptr) return f;
  std::string_view args(r->args);
  while (!args.empty()) {
    std::size_t amp = args.find('&');
    std::string_view pair = args.substr(0, amp);
    args = amp == std::string_view::npos ? std::string_view{} : args.substr(amp + 1);
    if (pair.empty()) continue;
    if (pair == "format=json") {
      f = Format::kJson;
    } else if (pair == "format=prometheus") {
      f = Format::kPrometheus;
    } else if (pair == "format=html") {
      f = Format::kHtml;
    } else {
      bad.assign(pair.substr(0, std::min<std::size_t>(pair.size(), 64)));
      return Format::kBad;
    }
  }
  return f;
}

ManagerSnapshot take_snapshot(request_rec* r, const SharedState& shared) {
  ManagerSnapshot snap;
  snap.server = r->server->server_hostname ? r->server->server_hostname : "";
  snap.now_us = apr_time_now();
  auto* conf = static_cast<proxy_server_conf*>(
      ap_get_module_config(r->server->module_config, proxy_api().proxy_module));
  auto* bs = reinterpret_cast<proxy_balancer*>(conf->balancers->elts);
  for (int i = 0; i < conf->balancers->nelts; ++i) {
    const proxy_balancer& b = bs[i];
    BalancerSnapshot out;
    out.name = std::string(field(b.s->name));
    out.lbmethod = std::string(field(b.s->lbpname));
    out.sticky_cookie = std::string(field(b.s->sticky));
    out.sticky_path = std::string(field(b.s->sticky_path));
    out.sticky_separator = b.s->sticky_separator;
    out.nofailover = b.s->sticky_force != 0;
    out.forcerecovery = b.s->forcerecovery != 0;
    out.max_attempts = b.s->max_attempts;
    out.timeout_us = b.s->timeout;
    out.unavailable = shared.balancer(static_cast<std::uint32_t>(b.s->index))
                          .unavailable.load(std::memory_order_relaxed);
    WorkerTable table(&b, shared);
    for (std::size_t j = 0; j < table.size(); ++j) {
      const proxy_worker_shared* s = table.worker(j)->s;
      const MemberCounters& c = table.counters(j);
      MemberSnapshot m;
      m.name = std::string(field(s->name_ex));
      m.route = std::string(table.route(j));
      m.redirect = std::string(table.redirect(j));
      m.status = table.status(j);
      m.lbset = s->lbset;
      m.weight = s->lbfactor;
      m.busy = c.busy.load(std::memory_order_relaxed);
      m.elected = c.elected.load(std::memory_order_relaxed);
      m.sticky = c.sticky.load(std::memory_order_relaxed);
      m.faults = c.faults.load(std::memory_order_relaxed);
      m.retries = s->retries;
      m.bytes_sent = static_cast<std::uint64_t>(s->transferred);
      m.bytes_received = static_cast<std::uint64_t>(s->read);
      m.error_time_us = s->error_time;
      m.retry_us = s->retry;
      out.members.push_back(std::move(m));
    }
    snap.balancers.push_back(std::move(out));
  }
  return snap;
}

}  // namespace

int manager_handler(request_rec* r) noexcept {
  if (r->handler == nullptr || std::strcmp(r->handler, "balancer-manager") != 0) return DECLINED;
  try {
    r->allowed = AP_METHOD_BIT << M_GET;
    if (r->method_number != M_GET) {
      ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                    ISB_LOGNO(00019) "balancer-manager: %s refused: this version is read-only",
                    r->method);
      return HTTP_METHOD_NOT_ALLOWED;
    }
    std::string bad;
    Format format = requested_format(r, bad);
    if (format == Format::kBad) {
      ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                    ISB_LOGNO(00020) "balancer-manager: unsupported parameter '%s' refused; "
                                     "this version is read-only and takes only format=",
                    ap_escape_logitem(r->pool, bad.c_str()));
      return HTTP_BAD_REQUEST;
    }
    const auto& shared = process_state().shared;
    if (!shared) return HTTP_SERVICE_UNAVAILABLE;
    ManagerSnapshot snap = take_snapshot(r, *shared);
    std::string body;
    switch (format) {
      case Format::kJson:
        ap_set_content_type(r, "application/json");
        body = render_json(snap);
        break;
      case Format::kPrometheus:
        ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
        body = render_prometheus(snap);
        break;
      default:
        ap_set_content_type(r, "text/html; charset=utf-8");
        apr_table_setn(r->headers_out, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'");
        body = render_html(snap);
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, static_cast<apr_off_t>(body.size()));
    if (!r->header_only) ap_rwrite(body.data(), static_cast<int>(body.size()), r);
    return OK;
  } catch (const std::exception& e) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ISB_LOGNO(00017) "balancer-manager: %s", e.what());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
}

}  // namespace isb::httpd

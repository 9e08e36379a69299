// The balancer-manager: GET shows (HTML, JSON, Prometheus, stock's XML), POST
// edits. An edit must come from this page's own origin (or one the operator
// trusts; core/manager/origin.hpp) and carry the balancer's nonce; it is validated as a whole
// (core/manager/manager_edit) before anything changes, applied under the balancer's edit lock,
// logged with who made it, and written to the state file when BalancerPersist is On. Access control
// stays with httpd's Require.
#include "manager_handler.hpp"

#include <apr_time.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/manager/manager_model.hpp"
#include "core/manager/origin.hpp"
#include "core/manager/request.hpp"
#include "core/manager/snapshot.hpp"
#include "core/policy/selector.hpp"
#include "core/shm/edit_lock.hpp"
#include "core/text/json.hpp"
#include "directives.hpp"
#include "log_ids.hpp"
#include "members.hpp"
#include "persist.hpp"
#include "process_state.hpp"
#include "proxy_api.hpp"
#include "worker_table.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {
namespace {

proxy_server_conf* proxy_conf(request_rec* r) {
  return static_cast<proxy_server_conf*>(
      ap_get_module_config(r->server->module_config, proxy_api().proxy_module));
}

std::string random_hex(std::size_t bytes) {
  unsigned char buf[32];
  if (bytes > sizeof buf || apr_generate_random_bytes(buf, bytes) != APR_SUCCESS) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    out += kHex[buf[i] >> 4];
    out += kHex[buf[i] & 15];
  }
  return out;
}

// --- origin ------------------------------------------------------------------------

// This page's own origin: the scheme the request came in on and the Host it was
// sent to (for a request without Host, the server's name and the port the
// connection came in on).
std::string own_origin(request_rec* r) {
  const char* host = apr_table_get(r->headers_in, "Host");
  const apr_port_t port =
      r->connection->local_addr ? r->connection->local_addr->port : ap_get_server_port(r);
  const std::string authority =
      host != nullptr && *host != '\0'
          ? std::string(host)
          : std::string(ap_get_server_name(r)) + ":" + std::to_string(port);
  return origin_of_host(ap_http_scheme(r), authority).value_or("");
}

// DNS rebinding: a page whose host name an attacker points at this server
// reaches the manager with that name in Host. Only the names this virtual host
// answers to (and localhost, the listener's address, a trusted origin's host)
// may see the page and its nonces, or edit.
std::optional<Refusal> check_host(request_rec* r) {
  if (r->hostname == nullptr) return std::nullopt;  // no Host (HTTP/1.0): nothing to rebind
  const server_rec* s = r->server;
  std::vector<std::string> exact;
  std::vector<std::string> patterns;
  if (s->server_hostname != nullptr) exact.emplace_back(s->server_hostname);
  for (const apr_array_header_t* list : {s->names, s->wild_names}) {
    if (list == nullptr) continue;
    auto& into = list == s->names ? exact : patterns;
    const auto* items = reinterpret_cast<const char* const*>(list->elts);
    for (int i = 0; i < list->nelts; ++i) into.emplace_back(items[i]);
  }
  std::vector<std::string> trusted;
  const OriginPolicy policy = origin_policy(r, trusted);
  const HostNames names{exact, patterns, r->connection->local_ip ? r->connection->local_ip : "",
                        policy.trusted};
  return isb::check_host(r->hostname, names);
}

// CSRF defence in depth, before the nonce (core/manager/origin.hpp decides).
std::optional<Refusal> check_origin(request_rec* r) {
  auto header = [r](const char* name) -> std::optional<std::string_view> {
    const char* v = apr_table_get(r->headers_in, name);
    return v != nullptr ? std::optional<std::string_view>(v) : std::nullopt;
  };
  EditHeaders h;
  h.origin = header("Origin");
  h.referer = header("Referer");
  h.sec_fetch_site = header("Sec-Fetch-Site");
  h.any_sec_fetch =
      apr_table_do([](void*, const char* key,
                      const char*) -> int { return strncasecmp(key, "Sec-Fetch-", 10) != 0; },
                   nullptr, r->headers_in, nullptr) == 0;
  std::vector<std::string> trusted;
  if (auto why = check_edit_origin(h, own_origin(r), origin_policy(r, trusted))) {
    return Refusal{HTTP_FORBIDDEN, why->header, why->message};
  }
  return std::nullopt;
}

// --- body --------------------------------------------------------------------------

std::optional<Refusal> read_body(request_rec* r, std::string& body) {
  if (const char* cl = apr_table_get(r->headers_in, "Content-Length"); cl != nullptr) {
    apr_off_t len = 0;
    if (apr_strtoff(&len, cl, nullptr, 10) == APR_SUCCESS &&
        len > static_cast<apr_off_t>(kMaxEditBytes)) {
      r->connection->keepalive = AP_CONN_CLOSE;
      return edit_too_large();
    }
  }
  if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK) {
    return Refusal{HTTP_BAD_REQUEST, "", "the request body cannot be read"};
  }
  if (!ap_should_client_block(r)) return std::nullopt;
  char buf[2048];
  long n = 0;
  while ((n = ap_get_client_block(r, buf, sizeof buf)) > 0) {
    body.append(buf, static_cast<std::size_t>(n));
    if (body.size() > kMaxEditBytes) {
      r->connection->keepalive = AP_CONN_CLOSE;
      return edit_too_large();
    }
  }
  if (n < 0) return Refusal{HTTP_BAD_REQUEST, "", "the request body cannot be read"};
  return std::nullopt;
}

// --- snapshot ------------------------------------------------------------------------

ManagerSnapshot take_snapshot(request_rec* r, const SharedState& shared) {
  ManagerSnapshot snap;
  snap.server = r->server->server_hostname ? r->server->server_hostname : "";
  snap.server_version = ap_get_server_description();
  snap.server_built = ap_get_server_built();
  snap.now_us = apr_time_now();
  // The page's own path, where its links and forms point: escaped as a path, so
  // that a request for /bm/%3Fb=x%23 does not turn into links with a query.
  snap.action = r->uri ? ap_escape_uri(r->pool, r->uri) : "";
  for (auto name : selector_names()) snap.lbmethods.emplace_back(name);
  snap.health_checks = process_state().health_checks;
  if (const proxy_hcmethods_t* m = proxy_api().hcmethods; m != nullptr && snap.health_checks) {
    for (int i = 0; i < 32 && m[i].name != nullptr; ++i) {
      if (m[i].implemented) snap.hc_methods.emplace_back(m[i].name);
    }
  }
  proxy_server_conf* conf = proxy_conf(r);
  auto* bs = reinterpret_cast<proxy_balancer*>(conf->balancers->elts);
  for (int i = 0; i < conf->balancers->nelts; ++i) {
    const proxy_balancer& b = bs[i];
    LocalBalancer* lb = local_balancer(&b);
    const BalancerCounters& bc = shared.balancer(static_cast<std::uint32_t>(b.s->index));
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
    out.nonce = std::string(field(b.s->nonce));
    read_counters(bc, out);
    out.settings = read_settings(b, bc);
    if (lb != nullptr) {
      out.persist = lb->persist;
      out.free_slots = free_member_slots(shared, lb->slots());
      out.differs = diff(lb->configured_balancer, out.settings);
      for (std::uint32_t k : removed_configured(shared, lb->slots())) {
        out.removed.emplace_back(field(member_shared(shared, lb->first_member + k)->name_ex));
      }
    }
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
      read_counters(c, snap.now_us, m);
      m.retries = s->retries;
      m.bytes_sent = static_cast<std::uint64_t>(s->transferred);
      m.bytes_received = static_cast<std::uint64_t>(s->read);
      m.error_time_us = s->error_time;
      m.retry_us = s->retry;
      m.scheme = std::string(field(s->scheme));
      m.hostname = std::string(field(s->hostname_ex));
      m.port = s->port;
      m.settings = read_settings(*s, c);
      if (lb != nullptr) {
        compare_with_configuration(m, lb->configured,
                                   static_cast<std::uint32_t>(s->index) - lb->first_member,
                                   snap.health_checks);
      }
      out.members.push_back(std::move(m));
    }
    snap.balancers.push_back(std::move(out));
  }
  return snap;
}

// --- responses -----------------------------------------------------------------------

void send(request_rec* r, const std::string& body) {
  apr_table_setn(r->headers_out, "Cache-Control", "no-store");
  apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
  apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
  apr_table_setn(r->headers_out, "Referrer-Policy", "same-origin");
  ap_set_content_length(r, static_cast<apr_off_t>(body.size()));
  if (!r->header_only) ap_rwrite(body.data(), static_cast<int>(body.size()), r);
}

int refuse(request_rec* r, const Refusal& why, bool json, const char* log_id) {
  // A refusal is the client's business (info), but for a failure of ours (500).
  ap_log_rerror(APLOG_MARK, why.status == HTTP_INTERNAL_SERVER_ERROR ? APLOG_ERR : APLOG_INFO, 0, r,
                "%sbalancer-manager: %s refused with %d: %s%s%s", log_id, r->method, why.status,
                ap_escape_logitem(r->pool, why.field.c_str()), why.field.empty() ? "" : ": ",
                ap_escape_logitem(r->pool, why.message.c_str()));
  r->status = why.status;
  ap_set_content_type(r, content_type(json ? Format::kJson : Format::kHtml).data());
  if (!json) apr_table_setn(r->headers_out, "Content-Security-Policy", "default-src 'none'");
  send(r, refusal_body(why, json, r->uri ? r->uri : ""));
  return OK;
}

int show(request_rec* r, const SharedState& shared, const View& view, std::string notice) {
  ManagerSnapshot snap = take_snapshot(r, shared);
  snap.notice = std::move(notice);
  std::string body;
  ap_set_content_type(r, content_type(view.format).data());
  switch (view.format) {
    case Format::kJson:
      body = render_json(snap);
      break;
    case Format::kPrometheus:
      body = render_prometheus(snap);
      break;
    case Format::kXml:
      body = render_xml(snap);
      break;
    case Format::kHtml: {
      if (auto missing = check_selection(snap, view)) {
        return refuse(r, *missing, false, ISB_LOGNO(00020));
      }
      snap.selected_balancer = view.balancer;
      snap.selected_member = view.member;
      snap.script_nonce = random_hex(16);
      apr_table_set(r->headers_out, "Content-Security-Policy",
                    content_security_policy(snap.script_nonce).c_str());
      body = render_html(snap);
      break;
    }
  }
  send(r, body);
  return OK;
}

std::string_view query_of(const request_rec* r) {
  return r->args != nullptr ? std::string_view(r->args) : std::string_view{};
}

int edit(request_rec* r, const SharedState& shared) {
  const char* type = apr_table_get(r->headers_in, "Content-Type");
  const BodyKind kind = body_kind(type != nullptr ? std::string_view(type) : std::string_view{});
  const bool json = kind == BodyKind::kJson;
  if (kind == BodyKind::kUnsupported) {
    return refuse(r,
                  {HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Type",
                   "use application/x-www-form-urlencoded or application/json"},
                  false, ISB_LOGNO(00020));
  }
  std::vector<FormField> link;
  if (auto bad = parse_link_query(query_of(r), link))
    return refuse(r, *bad, json, ISB_LOGNO(00020));
  if (auto bad = check_origin(r)) return refuse(r, *bad, json, ISB_LOGNO(00026));
  std::string body;
  if (auto bad = read_body(r, body)) return refuse(r, *bad, json, ISB_LOGNO(00020));
  EditError err;
  auto fields = json ? parse_json_edit(body, err) : parse_form(body, err);
  if (!fields) {
    return refuse(r, {HTTP_BAD_REQUEST, err.field, err.message}, json, ISB_LOGNO(00020));
  }
  if (auto bad = check_link_agrees(link, *fields)) return refuse(r, *bad, json, ISB_LOGNO(00020));
  const EditRules rules{selector_names(), process_state().health_checks};
  auto e = parse_edit(*fields, rules, err);
  if (!e) return refuse(r, {HTTP_BAD_REQUEST, err.field, err.message}, json, ISB_LOGNO(00020));
  bool xml = false;
  for (const auto& f : *fields) xml = xml || f.name == "xml";

  LocalBalancer* lb = nullptr;
  if (!e->balancer.empty()) {
    lb = find_local(proxy_conf(r), e->balancer);
    if (lb == nullptr) {
      return refuse(r, {HTTP_BAD_REQUEST, "b", "this virtual host has no balancer " + e->balancer},
                    json, ISB_LOGNO(00020));
    }
  }
  if (auto bad =
          check_nonce(*e, lb != nullptr, lb ? field(lb->main->s->nonce) : std::string_view{})) {
    return refuse(r, *bad, json, ISB_LOGNO(00027));
  }
  std::string notice = "No change.";
  if (e->edits_anything()) {
    EditLock lock(shared.balancer(lb->slot));
    if (!lock.acquire(std::chrono::seconds(2))) {
      return refuse(r, {HTTP_SERVICE_UNAVAILABLE, "", "another edit of this balancer is running"},
                    json, ISB_LOGNO(00029));
    }
    if (shared.balancer(lb->slot).closed.load(std::memory_order_acquire) != 0) {
      apr_table_setn(r->headers_out, "Retry-After", "1");
      return refuse(r,
                    {HTTP_SERVICE_UNAVAILABLE, "",
                     "httpd is restarting; nothing was changed: send the edit again"},
                    json, ISB_LOGNO(00029));
    }
    ApplyOutcome out = apply_edit(*lb, shared, *e, r->pool);
    if (out.refused) {
      return refuse(r, *out.refused, json, ISB_LOGNO(00029));
    }
    keep_in_step(*lb, shared, process_state().child_pool);
    const std::string changes = changes_text(out.changes);
    if (!out.changes.empty()) {
      ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                    ISB_LOGNO(00028) "balancer-manager edit by %s (user %s) of %s: %s",
                    r->useragent_ip, r->user ? ap_escape_logitem(r->pool, r->user) : "-",
                    lb->main->s->name, ap_escape_logitem(r->pool, changes.c_str()));
      // Durably saved before the answer: a 200 means it survives even kill -9.
      if (lb->persist && !write_state_file(r->server, r->pool, false)) {
        return refuse(r,
                      {HTTP_INTERNAL_SERVER_ERROR, "",
                       "the edit is applied but could not be saved to the BalancerPersist "
                       "state file (see the error log); it will not survive a full restart",
                       true},
                      json, ISB_LOGNO(00024));
      }
      notice = "Applied: " + changes;
    }
    if (json) {
      const std::string reply = edit_reply_json(lb->main->s->name, out.changes);
      ap_set_content_type(r, content_type(Format::kJson).data());
      send(r, reply);
      return OK;
    }
  }
  if (json) {  // a JSON edit that asks for nothing is answered in JSON too
    ap_set_content_type(r, content_type(Format::kJson).data());
    send(r, edit_reply_json(lb != nullptr ? field(lb->main->s->name) : std::string_view{}, {}));
    return OK;
  }
  return show(r, shared, View{xml ? Format::kXml : Format::kHtml, {}, {}}, notice);
}

}  // namespace

int manager_handler(request_rec* r) noexcept {
  if (r->handler == nullptr || std::strcmp(r->handler, "balancer-manager") != 0) return DECLINED;
  try {
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    if (r->method_number != M_GET && r->method_number != M_POST) {
      ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                    ISB_LOGNO(00019) "balancer-manager: method %s refused; use GET or POST",
                    ap_escape_logitem(r->pool, r->method));
      return HTTP_METHOD_NOT_ALLOWED;
    }
    if (auto bad = check_host(r)) return refuse(r, *bad, false, ISB_LOGNO(00030));
    const auto& shared = process_state().shared;
    if (!shared) return HTTP_SERVICE_UNAVAILABLE;
    // Show (and edit) the member lists as they are now, added members included.
    if (apr_pool_t* pool = process_state().child_pool) {
      for (const auto& lb : local_balancers()) keep_in_step(*lb, *shared, pool);
    }
    if (r->method_number == M_POST) return edit(r, *shared);
    View view;
    if (auto bad = parse_view(query_of(r), view)) return refuse(r, *bad, false, ISB_LOGNO(00020));
    return show(r, *shared, view, {});
  } catch (const std::exception& e) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ISB_LOGNO(00017) "balancer-manager: %s", e.what());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
}

}  // namespace isb::httpd

#include "request_path.hpp"

#include <apr_time.h>

#include <array>
#include <cstring>
#include <exception>
#include <string_view>

#include "canon.hpp"
#include "core/health/ejection.hpp"
#include "core/health/passive.hpp"
#include "core/policy/retry_budget.hpp"
#include "core/policy/safe_failover.hpp"
#include "core/routing/balancer_url.hpp"
#include "core/routing/decision.hpp"
#include "log_ids.hpp"
#include "members.hpp"
#include "process_state.hpp"
#include "proxy_api.hpp"
#include "worker_table.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {
namespace {

static_assert(kBalancerPrefix == BALANCER_PREFIX);

// The lbmethod providers mod_proxy looks up for `ProxySet lbmethod=`, one per
// core selector, filled in by register_lbmethods. `context` carries the core
// selector; `finder` is the stock entry point for callers that want a pick
// without the rest of the request path.
proxy_worker* find_best(proxy_balancer* balancer, request_rec* r) noexcept;

std::array<proxy_balancer_method, kSelectorCount> g_methods{};

BalancerPolicy policy_of(const proxy_balancer* b, const BalancerCounters& counters) noexcept {
  const proxy_balancer_shared* s = b->s;
  BalancerPolicy p;
  p.sticky = sticky_config(field(s->sticky), field(s->sticky_path), s->sticky_separator,
                           s->scolonsep != 0);
  p.nofailover = s->sticky_force != 0;
  p.forcerecovery = s->forcerecovery != 0;
  // A balancer-manager edit names the method in shared memory, for every child.
  p.selector = balancer_selector(
      counters.selector.load(std::memory_order_relaxed),
      b->lbmethod != nullptr ? static_cast<const Selector*>(b->lbmethod->context) : nullptr);
  return p;
}

// The balancer named in "balancer://name/..." (core/routing/balancer_url.hpp).
proxy_balancer* find_balancer(proxy_server_conf* conf, std::string_view url) noexcept {
  const std::string_view name = balancer_of_url(url);
  auto* bs = reinterpret_cast<proxy_balancer*>(conf->balancers->elts);
  for (int i = 0; i < conf->balancers->nelts; ++i) {
    if (names_balancer(field(bs[i].s->name), name)) return bs[i].s->inactive ? nullptr : &bs[i];
  }
  return nullptr;
}

// What a balanced request holds from its first pick to its end, for the retry
// budget and body-safe failover (core/policy/retry_budget.hpp, safe_failover.hpp):
// its count in the balancer's in_flight, and in retries_in_flight once it fails
// over, recorded in this child's ledger row (`held`; nullptr without a row) so
// that the parent gives them back if the child dies first; the member of its
// latest attempt; and the request-body bytes the body filter saw go up to a
// scheme handler. One request is handled by one thread at a time, so the fields
// need no atomics.
struct InFlight {
  BalancerCounters* counters;
  BudgetHeld* held;
  const proxy_worker* member;
  apr_off_t body_read;
  bool retrying;
};

// What pre_request leaves for post_request and the end of the request.
struct Attempt {
  BusyTicket ticket;
  apr_time_t picked;
  const Selector* selector;  // the method that picked, for its result()
  std::uint32_t number;      // 0: the first try; n: the n-th failover
  InFlight* flight;          // the request's, made by its first attempt
};

// A request's first attempt and its InFlight, in one allocation, given back by
// one cleanup (end_request): the first attempt costs one pool cleanup, as before.
struct FirstAttempt {
  Attempt attempt;
  InFlight flight;
};

// The selector's per-process state for `lb` (out of line: a stateless method,
// every method so far, never calls it).
[[gnu::noinline]] const SelectorState* selector_state(LocalBalancer* lb, const Selector& selector,
                                                      WorkerTable& table, Candidate* scratch) {
  if (lb == nullptr) return nullptr;
  return lb->selector_states.get(selector, lb->seen_version.load(std::memory_order_acquire), [&] {
    return list_members(table, {scratch, table.size()});
  });
}

// policy_of, plus what this process keeps for `lb`: the selector's state and
// the route index. `scratch` has room for every member of `table`.
BalancerPolicy request_policy(const proxy_balancer* b, const BalancerCounters& counters,
                              LocalBalancer* lb, WorkerTable& table, Candidate* scratch) {
  BalancerPolicy policy = policy_of(b, counters);
  if (policy.selector->stateful())
    policy.state = selector_state(lb, *policy.selector, table, scratch);
  if (lb != nullptr) policy.routes = lb->routes.load(std::memory_order_acquire);
  return policy;
}

apr_status_t release_busy(void* attempt) noexcept {
  SharedState::release_busy(static_cast<Attempt*>(attempt)->ticket);
  return APR_SUCCESS;
}

apr_status_t end_request(void* first) noexcept {
  auto* f = static_cast<FirstAttempt*>(first);
  SharedState::release_busy(f->attempt.ticket);
  budget_leave(*f->flight.counters, f->flight.retrying, f->flight.held);
  return APR_SUCCESS;
}

// The input filter that counts request-body bytes on their way to a scheme
// handler, into the request's InFlight (its ctx). Added by a request's first
// attempt when the request has a body; speculative reads consume nothing and are
// not counted. A bucket of unknown length counts as one byte: something was read.
ap_filter_rec_t* g_body_counter = nullptr;

apr_status_t count_body(ap_filter_t* f, apr_bucket_brigade* bb, ap_input_mode_t mode,
                        apr_read_type_e block, apr_off_t readbytes) noexcept {
  const apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
  if (rv != APR_SUCCESS || mode == AP_MODE_SPECULATIVE) return rv;
  apr_off_t length = 0;
  apr_brigade_length(bb, 0, &length);
  static_cast<InFlight*>(f->ctx)->body_read += length < 0 ? 1 : length;
  return rv;
}

// Whether the request comes with a body: a Content-Length other than 0, or a
// Transfer-Encoding (httpd drops Content-Length when both are sent).
bool has_body(const request_rec* r) noexcept {
  if (const char* length = apr_table_get(r->headers_in, "Content-Length")) {
    for (; *length != '\0'; ++length) {
      if (*length >= '1' && *length <= '9') return true;
    }
    return false;
  }
  return apr_table_get(r->headers_in, "Transfer-Encoding") != nullptr;
}

// Whether every member of `b` has body handler `handler` (not ""): whichever
// one a failover picks sends on what the failed one's handler kept.
bool one_body_handler(const proxy_balancer* b, std::string_view handler) noexcept {
  if (handler.empty()) return false;
  const apr_array_header_t* list = current_workers(b);
  const auto* const* ws = reinterpret_cast<const proxy_worker* const*>(list->elts);
  for (int i = 0; i < list->nelts; ++i) {
    if (body_handler(field(ws[i]->s->scheme)) != handler) return false;
  }
  return true;
}

// The request-body bytes the failed member's body handler (body_handler() of
// its scheme) still keeps, unsent, for the next attempt: mod_proxy_fcgi keeps
// what it prefetched or spooled before connecting in the pool userdata
// "proxy-fcgi-input" and sends from it. -1 for any other handler.
apr_off_t body_kept(request_rec* r, std::string_view handler) noexcept {
  if (handler != "fcgi") return -1;
  void* kept = nullptr;
  apr_pool_userdata_get(&kept, "proxy-fcgi-input", r->pool);
  if (kept == nullptr) return 0;
  apr_off_t length = -1;
  apr_brigade_length(static_cast<apr_bucket_brigade*>(kept), 0, &length);
  return length;
}

// A failover, attempt `number` >= 1, of a request that picked before: OK, or 503
// when the body it read cannot be sent again (core/policy/safe_failover.hpp) or
// the balancer's retry budget is spent (core/policy/retry_budget.hpp). Decided
// before any member is picked.
int allow_failover(request_rec* r, const proxy_balancer* b, InFlight& flight,
                   std::uint32_t number) noexcept {
  BalancerCounters& c = *flight.counters;
  const char* scheme = flight.member->s->scheme;
  const std::string_view scheme_name = field(flight.member->s->scheme);
  const std::string_view handler = body_handler(scheme_name);
  FailedAttempt failed{number, is_idempotent_method(r->method != nullptr ? r->method : ""),
                       flight.body_read};
  // What the failed member's handler kept goes on only to a member of the same
  // handler; in a balancer that mixes them, the next one may not be.
  if (flight.body_read > 0 && one_body_handler(b, handler)) {
    failed.scheme_keeps_body = scheme_keeps_body(scheme_name);
    failed.body_kept = body_kept(r, handler);
  }
  if (failover_safety(failed) == FailoverSafety::kBodyConsumed) {
    c.unsafe_retries_refused.fetch_add(1, std::memory_order_relaxed);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  ISB_LOGNO(00053) "%s: no failover after member %s failed: %" APR_OFF_T_FMT
                                   " byte%s of the request body were read for it, and a %s "
                                   "member did not keep them all for another; 503",
                  b->s->name, flight.member->s->name_ex, flight.body_read,
                  flight.body_read == 1 ? "" : "s", scheme);
    return HTTP_SERVICE_UNAVAILABLE;
  }
  // A refused request that held a count has given it back.
  flight.retrying =
      flight.retrying ? admit_another_failover(c, flight.held) : admit_failover(c, flight.held);
  if (!flight.retrying) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  ISB_LOGNO(00052) "%s: no failover after member %s failed: the retry budget "
                                   "is spent (%" APR_INT64_T_FMT " failovers in flight for %"
                                   APR_INT64_T_FMT " requests; retrybudget=%" APR_INT64_T_FMT
                                   " retryfloor=%" APR_INT64_T_FMT "); 503",
                  b->s->name, flight.member->s->name_ex,
                  static_cast<apr_int64_t>(c.retries_in_flight.load(std::memory_order_relaxed)),
                  static_cast<apr_int64_t>(c.in_flight.load(std::memory_order_relaxed)),
                  static_cast<apr_int64_t>(c.retry_budget_percent.load(std::memory_order_relaxed)),
                  static_cast<apr_int64_t>(c.retry_budget_floor.load(std::memory_order_relaxed)));
    return HTTP_SERVICE_UNAVAILABLE;
  }
  return OK;
}

// "balancer://name/path" -> "scheme://member/path", canonicalised by the member
// scheme's own canon handler, as stock's balancer_fixup does: directly when that
// handler is mod_proxy_http's (canon.hpp), else through mod_proxy's hooks.
int rewrite_url(request_rec* r, const proxy_worker* worker, const MemberUrl* member,
                char** url) noexcept {
  const char* path = std::strchr(*url + kBalancerPrefix.size(), '/');
  if (canon_member_url(r, worker, member, path, url)) return OK;
  r->filename = apr_pstrcat(r->pool, "proxy:", worker->s->name_ex, path, nullptr);
  int rc = proxy_api().canon_url(r);
  if (rc == OK) *url = apr_pstrdup(r->pool, r->filename + 6);
  return rc;
}

using TablePut = void (*)(apr_table_t*, const char*, const char*);

// Whether `t` has a key starting with "BALANCER_" (any case, as apr tables compare).
bool has_balancer_vars(const apr_table_t* t) noexcept {
  const apr_array_header_t* a = apr_table_elts(t);
  const auto* e = reinterpret_cast<const apr_table_entry_t*>(a->elts);
  for (int i = 0; i < a->nelts; ++i) {
    if (e[i].key != nullptr && starts_with_nocase(e[i].key, "balancer_")) return true;
  }
  return false;
}

void mark_in_error(proxy_worker* worker, MemberCounters& counters) noexcept {
  status_ref(worker->s).fetch_or(PROXY_WORKER_IN_ERROR, std::memory_order_relaxed);
  worker->s->error_time = apr_time_now();
  counters.faults.fetch_add(1, std::memory_order_relaxed);
}

// Counts one answer of `worker` for outlier ejection, and ejects it when that
// reaches a threshold and the balancer's cap allows (core/health/ejection.hpp).
void count_for_ejection(proxy_balancer* balancer, const proxy_worker* worker,
                        MemberCounters& counters, Answer answer, request_rec* r,
                        std::int64_t now) noexcept {
  const CountedAnswer counted = count_answer(counters, answer, now);
  if (!counted.threshold) return;
  const auto& shared = *process_state().shared;
  WorkerTable table(balancer, shared);
  std::size_t i = 0;
  while (i < table.size() && &table.counters(i) != &counters) ++i;
  if (i == table.size()) return;  // removed meanwhile
  BalancerCounters& bc = shared.balancer(static_cast<std::uint32_t>(balancer->s->index));
  const EjectResult res = try_eject(table, i, bc, now);
  if (res.outcome != EjectOutcome::kEjected && res.outcome != EjectOutcome::kCapped) return;
  std::string why;
  try {
    why = counted_text(counted);
  } catch (const std::exception&) {
    why = "failures";  // out of memory: the decision stands, the log says less
  }
  if (res.outcome == EjectOutcome::kEjected) {
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  ISB_LOGNO(00050) "%s: member %s ejected for %" APR_INT64_T_FMT
                                   " s after %s (level %" APR_INT64_T_FMT
                                   ", ejection %" APR_UINT64_T_FMT ")",
                  balancer->s->name, worker->s->name_ex, (res.until_us - now) / 1'000'000,
                  why.c_str(), res.level, counters.ejections.load(std::memory_order_relaxed));
  } else if (res.outcome == EjectOutcome::kCapped) {
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  ISB_LOGNO(00051) "%s: member %s not ejected after %s: %" APR_SIZE_T_FMT
                                   " of %" APR_SIZE_T_FMT
                                   " members are out already and ejectpercent allows "
                                   "%" APR_SIZE_T_FMT,
                  balancer->s->name, worker->s->name_ex, why.c_str(), res.out, table.size(),
                  res.limit);
  }
}

proxy_worker* find_best(proxy_balancer* balancer, request_rec* r) noexcept {
  const auto& shared = process_state().shared;
  if (!shared) return nullptr;
  WorkerTable table(balancer, *shared);
  if (table.size() == 0) return nullptr;
  auto* scratch = static_cast<Candidate*>(apr_palloc(r->pool, sizeof(Candidate) * table.size()));
  RequestView req{{}, {}, {}, apr_time_now()};
  const BalancerCounters& counters =
      shared->balancer(static_cast<std::uint32_t>(balancer->s->index));
  const BalancerPolicy policy =
      request_policy(balancer, counters, local_balancer(balancer), table, scratch);
  Decision d = balance(table, policy, req, {scratch, table.size()});
  return d.outcome == Outcome::kBalanced ? table.worker(d.member) : nullptr;
}

}  // namespace

void register_lbmethods(apr_pool_t* p) noexcept {
  for (std::size_t i = 0; i < g_methods.size(); ++i) {
    proxy_balancer_method& m = g_methods[i];
    m.name = selector_names()[i].data();
    m.finder = &find_best;
    m.context = const_cast<Selector*>(selector_at(i));
    ap_register_provider(p, PROXY_LBMETHOD, m.name, "0", &m);
  }
}

void register_body_counter() noexcept {
  g_body_counter =
      ap_register_input_filter("ISB_BODY_COUNTER", &count_body, nullptr, AP_FTYPE_RESOURCE);
}

bool is_our_lbmethod(const proxy_balancer_method* method) noexcept {
  for (const auto& m : g_methods) {
    if (method == &m) return true;
  }
  return false;
}

int canon_handler(request_rec* r, char* url) noexcept {
  if (!starts_with_nocase(url, "balancer:")) return DECLINED;
  // Most balancer URLs are canonical already: r->filename stays as it is.
  if (balancer_url_is_canonical(r, url)) return OK;
  url += 9;
  char* host = nullptr;
  apr_port_t port = 0;
  const char* err = proxy_api().canon_netloc(r->pool, &url, nullptr, nullptr, &host, &port);
  if (err != nullptr) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ISB_LOGNO(00015) "error parsing URL %s: %s", url,
                  err);
    return HTTP_BAD_REQUEST;
  }
  // The member's own canon handler runs once a member is chosen (rewrite_url),
  // so the path stays raw here.
  r->filename = apr_pstrcat(r->pool, "proxy:" BALANCER_PREFIX, host, "/", url, nullptr);
  return OK;
}

int pre_request(proxy_worker** worker, proxy_balancer** balancer, request_rec* r,
                proxy_server_conf* conf, char** url) noexcept {
  try {
    *worker = nullptr;
    // A failover attempt comes back with the balancer already set.
    if (*balancer == nullptr) {
      if (!is_balancer_url(*url)) return DECLINED;
      *balancer = find_balancer(conf, *url);
      if (*balancer == nullptr) return DECLINED;
    }
    proxy_balancer* b = *balancer;
    const auto& shared = process_state().shared;
    if (!shared) return HTTP_SERVICE_UNAVAILABLE;

    BalancerCounters& bcounters = shared->balancer(static_cast<std::uint32_t>(b->s->index));
    // A failover comes back here with the failed attempt still recorded; it may
    // be refused before any member is picked.
    const auto* previous =
        static_cast<const Attempt*>(ap_get_module_config(r->request_config, &isbalancer_module));
    if (previous != nullptr) {
      // mod_proxy fails over only when the member could not be reached or gave
      // no answer (503 from the scheme handler): a gateway failure of the member
      // the last attempt went to, which post_request, run once at the end, never
      // sees; counted whether or not the failover may go ahead.
      count_for_ejection(b, previous->flight->member, *previous->ticket.counters, Answer::kGateway,
                         r, apr_time_now());
      if (int rc = allow_failover(r, b, *previous->flight, previous->number + 1); rc != OK) {
        return rc;
      }
    }
    // Members added or removed through the balancer-manager since the last request.
    LocalBalancer* lb = local_balancer(b);
    if (lb != nullptr && process_state().child_pool) {
      keep_in_step(*lb, *shared, process_state().child_pool);
    }
    WorkerTable table(b, *shared);
    const std::size_t n = table.size();
    auto* scratch = static_cast<Candidate*>(apr_palloc(r->pool, sizeof(Candidate) * (n ? n : 1)));
    const BalancerPolicy policy = request_policy(b, bcounters, lb, table, scratch);
    const char* cookie = apr_table_get(r->headers_in, "Cookie");
    RequestView req{*url, r->args ? std::string_view(r->args) : std::string_view{},
                    cookie ? std::string_view(cookie) : std::string_view{}, apr_time_now()};
    req.attempt = previous != nullptr ? previous->number + 1 : 0;

    Decision d = decide(table, policy, req, {scratch, n});
    if (d.forced_recovery) {
      ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                    ISB_LOGNO(00014) "%s: every member was in error; forcerecovery put them "
                                     "back into service",
                    b->s->name);
    }
    if (d.outcome == Outcome::kRouteDown) {
      ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                    ISB_LOGNO(00010) "%s: every member for route (%.*s) is unusable and "
                                     "nofailover is On",
                    b->s->name, static_cast<int>(d.session->route.size()),
                    d.session->route.data());
      bcounters.unavailable.fetch_add(1, std::memory_order_relaxed);
      return HTTP_SERVICE_UNAVAILABLE;
    }
    d = wait_for_member(
        table, policy, req, {scratch, n}, std::move(d), b->s->timeout,
        [](std::int64_t us) { apr_sleep(us); }, [] { return apr_time_now(); });
    if (d.outcome == Outcome::kNoneUsable) {
      ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                    n ? ISB_LOGNO(00011) "%s: all members are unusable (disabled, stopped or in "
                                         "error)"
                      : ISB_LOGNO(00011) "%s: the balancer has no members",
                    b->s->name);
      bcounters.unavailable.fetch_add(1, std::memory_order_relaxed);
      return HTTP_SERVICE_UNAVAILABLE;
    }

    proxy_worker* chosen = table.worker(d.member);
    *worker = chosen;
    // busy is released when the request ends, and recorded in this child's ledger
    // row so that the parent gives it back if the child dies first. The first
    // attempt also counts the request in the balancer's in_flight, for the retry
    // budget (in the ledger row too), and counts its body as a scheme handler
    // reads it.
    const BusyTicket ticket = shared->acquire_busy(process_state().process_row,
                                                   static_cast<std::uint32_t>(chosen->s->index));
    Attempt* attempt;
    if (previous == nullptr) {
      auto* first = static_cast<FirstAttempt*>(apr_palloc(r->pool, sizeof(FirstAttempt)));
      BudgetHeld* held =
          shared->budget_held(process_state().process_row, static_cast<std::uint32_t>(b->s->index));
      first->flight = {&bcounters, held, chosen, 0, false};
      first->attempt = {ticket, req.now, policy.selector, 0, &first->flight};
      budget_enter(bcounters, held);
      apr_pool_cleanup_register(r->pool, first, &end_request, apr_pool_cleanup_null);
      if (has_body(r)) {
        ap_add_input_filter_handle(g_body_counter, &first->flight, r, r->connection);
      }
      attempt = &first->attempt;
    } else {
      attempt = static_cast<Attempt*>(apr_palloc(r->pool, sizeof(Attempt)));
      *attempt = {ticket, req.now, policy.selector, req.attempt, previous->flight};
      previous->flight->member = chosen;
      apr_pool_cleanup_register(r->pool, attempt, &release_busy, apr_pool_cleanup_null);
    }
    ap_set_module_config(r->request_config, &isbalancer_module, attempt);

    // apr_table_setn first looks for the key, and every BALANCER_* key falls in the
    // same index bucket ("BALA"), so each costs more than the last. While none is
    // set (no SetEnv of one, no earlier attempt of this request), adding cannot
    // make a duplicate and skips that search.
    const TablePut put_env =
        has_balancer_vars(r->subprocess_env) ? &apr_table_setn : &apr_table_addn;
    put_env(r->subprocess_env, "BALANCER_NAME", b->s->name);
    put_env(r->subprocess_env, "BALANCER_WORKER_NAME", chosen->s->name_ex);
    put_env(r->subprocess_env, "BALANCER_WORKER_ROUTE", chosen->s->route);
    if (d.route_changed) put_env(r->subprocess_env, "BALANCER_ROUTE_CHANGED", "1");
    if (d.session) {
      // The name is a view of balancer->s->sticky or ->sticky_path, which mod_proxy
      // keeps NUL-terminated: no copy needed. The route is a view of the request.
      const char* sticky = d.session->sticky_name.data();
      const char* route = apr_pstrmemdup(r->pool, d.session->route.data(), d.session->route.size());
      apr_table_setn(r->notes, "session-sticky", sticky);
      apr_table_setn(r->notes, "session-route", route);
      put_env(r->subprocess_env, "BALANCER_SESSION_STICKY", sticky);
      put_env(r->subprocess_env, "BALANCER_SESSION_ROUTE", route);
    }
    int rc = rewrite_url(r, chosen, lb ? member_url(*lb, chosen) : nullptr, url);
    if (APLOGrdebug(r)) {
      ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, ISB_LOGNO(00016) "%s: %s member %s, url %s",
                    b->s->name, d.outcome == Outcome::kSticky ? "sticky" : "balanced",
                    chosen->s->name_ex, *url);
    }
    return rc;
  } catch (const std::exception& e) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ISB_LOGNO(00017) "pre_request: %s", e.what());
    return HTTP_SERVICE_UNAVAILABLE;
  }
}

int post_request(proxy_worker* worker, proxy_balancer* balancer, request_rec* r,
                 proxy_server_conf* /*conf*/) noexcept {
  const auto& shared = process_state().shared;
  if (worker == nullptr || balancer == nullptr || !shared) return DECLINED;
  MemberCounters& counters = shared->member(static_cast<std::uint32_t>(worker->s->index));
  const auto* attempt =
      static_cast<const Attempt*>(ap_get_module_config(r->request_config, &isbalancer_module));
  AttemptResult result;
  const bool ours = attempt != nullptr && attempt->ticket.counters == &counters;
  if (ours) {
    result.now_us = apr_time_now();
    result.latency_us = result.now_us - attempt->picked;
    record_latency(counters, result.latency_us, result.now_us);
  }
  PassiveHealth health;
  if (balancer->errstatuses != nullptr) {
    health.fail_statuses = {reinterpret_cast<const int*>(balancer->errstatuses->elts),
                            static_cast<std::size_t>(balancer->errstatuses->nelts)};
  }
  health.fail_on_timeout = balancer->failontimeout != 0;
  // Looked up only when it matters: a table lookup costs more than the rest.
  const Response response{
      r->status, health.fail_on_timeout && apr_table_get(r->notes, "proxy_timedout") != nullptr};
  const Fault fault = judge_response(health, worker->s->status, response);
  switch (fault) {
    case Fault::kNone:
      break;
    case Fault::kStatus:
      mark_in_error(worker, counters);
      ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                    ISB_LOGNO(00012) "%s: member %s put into error: status %d is listed in "
                                     "failonstatus",
                    balancer->s->name, worker->s->name_ex, r->status);
      break;
    case Fault::kTimeout:
      mark_in_error(worker, counters);
      ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                    ISB_LOGNO(00013) "%s: member %s put into error: it timed out and "
                                     "failontimeout is On",
                    balancer->s->name, worker->s->name_ex);
      break;
  }
  if (ours) {
    count_for_ejection(balancer, worker, counters, classify_answer(r->status, response.timed_out),
                       r, result.now_us);
  }
  if (ours && attempt->selector->wants_results()) {
    result.status = r->status;
    result.fault = fault != Fault::kNone;
    attempt->selector->result(counters, result);
  }
  return OK;
}

}  // namespace isb::httpd

#include "lifecycle.hpp"

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <ap_mpm.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "log_ids.hpp"
#include "process_state.hpp"
#include "proxy_api.hpp"
#include "request_path.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {

ProcessState& process_state() noexcept {
  static ProcessState state;
  return state;
}

namespace {

// The segment outlives a configuration generation: it hangs off the process pool,
// which a graceful restart keeps. It is anonymous shared memory, so it has no
// file or SysV key that a crashed instance could leave behind.
constexpr const char* kSegmentKey = "mod_isbalancer:segment";

struct Segment {
  apr_shm_t* shm;
  void* base;  // 64-byte aligned start inside the mapping
  std::size_t size;
};

// Modules that do what we do. Loading them too would fight over the same hooks
// and lbmethod names.
struct Conflict {
  const char* source;
  const char* name;
};
constexpr Conflict kConflicts[] = {
    {"mod_proxy_balancer.c", "proxy_balancer"},
    {"mod_lbmethod_byrequests.c", "lbmethod_byrequests"},
    {"mod_lbmethod_bybusyness.c", "lbmethod_bybusyness"},
    {"mod_lbmethod_bytraffic.c", "lbmethod_bytraffic"},
    {"mod_lbmethod_heartbeat.c", "lbmethod_heartbeat"},
};

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Fingerprint of a configured member: its whole shared struct as mod_proxy parsed
// it, less the fields that change at run time or per start.
std::uint64_t fingerprint(std::uint64_t h, const proxy_worker_shared& in) noexcept {
  proxy_worker_shared s;
  std::memcpy(&s, &in, sizeof s);
  s.updated = 0;
  s.error_time = 0;
  s.index = 0;
  s.context = nullptr;
  return fnv1a(h, &s, sizeof s);
}

std::uint64_t fingerprint(std::uint64_t h, const proxy_balancer& b) noexcept {
  proxy_balancer_shared s;
  std::memcpy(&s, b.s, sizeof s);
  s.wupdated = 0;
  s.index = 0;
  std::memset(s.sname, 0, sizeof s.sname);
  h = fnv1a(h, &s, sizeof s);
  h = fnv1a(h, &b.growth, sizeof b.growth);
  return fnv1a(h, &b.failontimeout, sizeof b.failontimeout);
}

// Every balancer and member of every virtual host, each once. Inherited
// balancers are struct copies that share `s` and the workers array with the main
// server's, so identity is the pre-share `s` pointer and the worker pointer.
struct Inventory {
  struct BalancerEntry {
    proxy_balancer* first;
    std::vector<proxy_balancer*> copies;
    std::uint32_t slot;
  };
  std::vector<BalancerEntry> balancers;
  std::vector<proxy_worker*> workers;
  std::uint32_t member_capacity = 0;
  std::uint64_t fingerprint = 0xcbf29ce484222325ULL;
};

Inventory take_inventory(server_rec* main_server, module* proxy) {
  Inventory inv;
  std::unordered_map<const void*, std::size_t> balancer_of;
  std::unordered_map<const proxy_worker*, bool> seen_worker;
  for (server_rec* s = main_server; s != nullptr; s = s->next) {
    auto* conf = static_cast<proxy_server_conf*>(ap_get_module_config(s->module_config, proxy));
    auto* bs = reinterpret_cast<proxy_balancer*>(conf->balancers->elts);
    for (int i = 0; i < conf->balancers->nelts; ++i) {
      proxy_balancer* b = &bs[i];
      auto it = balancer_of.find(b->s);
      if (it != balancer_of.end()) {
        inv.balancers[it->second].copies.push_back(b);
        continue;
      }
      balancer_of.emplace(b->s, inv.balancers.size());
      inv.balancers.push_back({b, {}, static_cast<std::uint32_t>(inv.balancers.size())});
      inv.fingerprint = fingerprint(inv.fingerprint, *b);
      auto** ws = reinterpret_cast<proxy_worker**>(b->workers->elts);
      for (int j = 0; j < b->workers->nelts; ++j) {
        if (!seen_worker.emplace(ws[j], true).second) continue;
        inv.workers.push_back(ws[j]);
        inv.fingerprint = fingerprint(inv.fingerprint, *ws[j]->s);
      }
      inv.member_capacity += static_cast<std::uint32_t>(b->workers->nelts) +
                             static_cast<std::uint32_t>(b->growth > 0 ? b->growth : 0);
    }
  }
  return inv;
}

std::optional<Segment> create_segment(std::size_t bytes, server_rec* s) {
  apr_pool_t* ppool = s->process->pool;
  apr_shm_t* shm = nullptr;
  apr_status_t rv = apr_shm_create(&shm, bytes + kSlotAlign, nullptr, ppool);
  if (rv != APR_SUCCESS) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                 ISB_LOGNO(00004) "cannot create %" APR_SIZE_T_FMT
                                  " bytes of anonymous shared memory for the "
                                  "balancers; check the memory limits of the httpd user",
                 static_cast<apr_size_t>(bytes));
    return std::nullopt;
  }
  auto addr = reinterpret_cast<std::uintptr_t>(apr_shm_baseaddr_get(shm));
  addr = (addr + kSlotAlign - 1) / kSlotAlign * kSlotAlign;
  return Segment{shm, reinterpret_cast<void*>(addr), bytes};
}

// Busy-ledger rows: one per child that can be alive at once. Old-generation
// children finishing after a graceful restart and a killed child not yet reclaimed
// can overlap with the children of the MPM's limit, hence twice it and a margin.
std::uint32_t process_rows() noexcept {
  int limit = 0;
  if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit) != APR_SUCCESS || limit <= 0) limit = 16;
  const auto rows = 2 * static_cast<std::uint64_t>(limit) + 16;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(rows, kMaxProcessRows));
}

apr_status_t release_process_row(void*) noexcept {
  ProcessState& ps = process_state();
  if (ps.shared && ps.process_row) ps.shared->release_process_row(*ps.process_row);
  ps.process_row.reset();
  return APR_SUCCESS;
}

// A pid the parent may still see as alive while the MPM has not reaped it yet;
// it is reclaimed a second later. Pid reuse by an unrelated process only delays
// the reclaim until that process exits.
bool process_alive(std::int64_t pid) noexcept {
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

int pre_config(apr_pool_t* /*pconf*/, apr_pool_t* plog, apr_pool_t* /*ptemp*/) noexcept {
  for (const Conflict& c : kConflicts) {
    if (ap_find_linked_module(c.source) != nullptr) {
      ap_log_perror(APLOG_MARK, APLOG_EMERG, 0, plog,
                    ISB_LOGNO(00001) "mod_isbalancer replaces %s, and both are loaded. Disable "
                                     "one of them: 'a2dismod %s' (or remove its LoadModule "
                                     "line), or 'a2dismod isbalancer'.",
                    c.source, c.name);
      return HTTP_INTERNAL_SERVER_ERROR;
    }
  }
  ProxyApi& api = proxy_api();
  std::string missing;
  if (!resolve_proxy_api(api, missing)) {
    ap_log_perror(APLOG_MARK, APLOG_EMERG, 0, plog,
                  ISB_LOGNO(00002) "mod_isbalancer needs mod_proxy 2.4.59 or later; missing: %s. "
                                   "Enable it with 'a2enmod proxy' (or LoadModule proxy_module).",
                  missing.c_str());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  // mod_proxy's hooks can only be registered once mod_proxy is loaded; httpd
  // sorts all hooks again after pre_config.
  api.hook_pre_request(&pre_request, nullptr, nullptr, APR_HOOK_FIRST);
  api.hook_post_request(&post_request, nullptr, nullptr, APR_HOOK_FIRST);
  api.hook_canon_handler(&canon_handler, nullptr, nullptr, APR_HOOK_FIRST);
  return OK;
}

int post_config(apr_pool_t* /*pconf*/, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/,
                server_rec* s) noexcept {
  // httpd runs post_config twice at start-up; the first is a dry run.
  if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) return OK;
  try {
    ProxyApi& api = proxy_api();
    Inventory inv = take_inventory(s, api.proxy_module);

    for (const auto& e : inv.balancers) {
      if (!is_our_lbmethod(e.first->lbmethod)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ISB_LOGNO(00009) "%s: lbmethod '%s' is not provided by mod_isbalancer; use "
                                      "one of byrequests, bybusyness, bytraffic",
                     e.first->s->name, e.first->s->lbpname);
        return HTTP_INTERNAL_SERVER_ERROR;
      }
    }

    SegmentGeometry geometry{static_cast<std::uint32_t>(inv.balancers.size()), inv.member_capacity,
                             static_cast<std::uint32_t>(sizeof(proxy_balancer_shared)),
                             static_cast<std::uint32_t>(sizeof(proxy_worker_shared)),
                             process_rows()};
    auto bytes = SharedState::bytes_needed(geometry);
    if (!bytes) {
      ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                   ISB_LOGNO(00003) "too many balancers or members for one shared segment "
                                    "(%" APR_SIZE_T_FMT " balancers, %u member slots); lower growth= or "
                                    "BalancerGrowth",
                   static_cast<apr_size_t>(inv.balancers.size()), inv.member_capacity);
      return HTTP_INTERNAL_SERVER_ERROR;
    }

    // Keep the previous generation's segment when the configuration is the same:
    // counters and runtime edits survive a graceful restart.
    apr_pool_t* ppool = s->process->pool;
    void* data = nullptr;
    apr_pool_userdata_get(&data, kSegmentKey, ppool);
    auto* old = static_cast<Segment*>(data);
    std::optional<SharedState> state;
    if (old != nullptr) {
      auto kept = SharedState::attach(old->base, old->size, nullptr);
      if (kept && kept->geometry() == geometry &&
          kept->header().config_fingerprint == inv.fingerprint) {
        state = kept;
        auto gen = state->header().generation.fetch_add(1) + 1;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     ISB_LOGNO(00008) "configuration unchanged: keeping the shared state of "
                                      "%" APR_SIZE_T_FMT " members (generation %llu)",
                     static_cast<apr_size_t>(inv.workers.size()), static_cast<unsigned long long>(gen));
      } else {
        // Children of the old generation keep their own mapping until they exit.
        apr_shm_destroy(old->shm);
        apr_pool_userdata_set(nullptr, kSegmentKey, apr_pool_cleanup_null, ppool);
      }
    }
    if (!state) {
      auto seg = create_segment(*bytes, s);
      if (!seg) return HTTP_INTERNAL_SERVER_ERROR;
      state = SharedState::create(seg->base, seg->size, geometry, inv.fingerprint);
      if (!state) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ISB_LOGNO(00005) "cannot format the shared segment (%" APR_SIZE_T_FMT
                                      " bytes)",
                     static_cast<apr_size_t>(*bytes));
        return HTTP_INTERNAL_SERVER_ERROR;
      }
      auto* kept = static_cast<Segment*>(apr_palloc(ppool, sizeof(Segment)));
      *kept = *seg;
      apr_pool_userdata_set(kept, kSegmentKey, apr_pool_cleanup_null, ppool);
      ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                   ISB_LOGNO(00007) "shared state: %" APR_SIZE_T_FMT " bytes for %" APR_SIZE_T_FMT
                                    " balancers and %u member "
                                    "slots",
                   static_cast<apr_size_t>(*bytes), static_cast<apr_size_t>(inv.balancers.size()),
                   inv.member_capacity);
    }

    // Move each balancer's and member's mod_proxy struct into its slot. A slot
    // that already holds the same member (same name hash) is re-used as it is.
    std::uint32_t member = 0;
    std::unordered_map<const proxy_worker*, bool> shared_worker;
    for (auto& e : inv.balancers) {
      proxy_balancer* b = e.first;
      auto* bshm = static_cast<proxy_balancer_shared*>(state->balancer_host(e.slot));
      apr_status_t rv = api.share_balancer(b, bshm, static_cast<int>(e.slot));
      if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, ISB_LOGNO(00006) "cannot share balancer %s",
                     b->s->name);
        return HTTP_INTERNAL_SERVER_ERROR;
      }
      for (proxy_balancer* copy : e.copies) {
        copy->s = b->s;
        copy->lbmethod = b->lbmethod;
      }
      auto** ws = reinterpret_cast<proxy_worker**>(b->workers->elts);
      for (int j = 0; j < b->workers->nelts; ++j) {
        if (!shared_worker.emplace(ws[j], true).second) continue;
        auto* wshm = static_cast<proxy_worker_shared*>(state->member_host(member));
        rv = api.share_worker(ws[j], wshm, static_cast<int>(member));
        if (rv != APR_SUCCESS) {
          ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                       ISB_LOGNO(00006) "cannot share member %s of %s", ws[j]->s->name_ex,
                       b->s->name);
          return HTTP_INTERNAL_SERVER_ERROR;
        }
        ++member;
      }
      member += static_cast<std::uint32_t>(b->growth > 0 ? b->growth : 0);
      // Stock default: as many failover attempts as there are other members.
      if (!b->s->max_attempts_set && b->workers->nelts > 1) {
        b->s->max_attempts = b->workers->nelts - 1;
        b->s->max_attempts_set = 1;
      }
    }
    process_state().shared = state;
    return OK;
  } catch (const std::exception& e) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, ISB_LOGNO(00017) "post_config: %s", e.what());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
}

void child_init(apr_pool_t* p, server_rec* s) noexcept {
  if (!process_state().shared) {
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                 ISB_LOGNO(00018) "no shared segment in this child; balancer:// requests will "
                                  "get 503");
    return;
  }
  // The child's pool is destroyed when it exits normally: its row goes back then.
  process_state().process_row = process_state().shared->claim_process_row(getpid());
  if (process_state().process_row) {
    apr_pool_cleanup_register(p, nullptr, &release_process_row, apr_pool_cleanup_null);
  }
  ProxyApi& api = proxy_api();
  for (server_rec* vs = s; vs != nullptr; vs = vs->next) {
    auto* conf =
        static_cast<proxy_server_conf*>(ap_get_module_config(vs->module_config, api.proxy_module));
    auto* bs = reinterpret_cast<proxy_balancer*>(conf->balancers->elts);
    for (int i = 0; i < conf->balancers->nelts; ++i) {
      auto** ws = reinterpret_cast<proxy_worker**>(bs[i].workers->elts);
      for (int j = 0; j < bs[i].workers->nelts; ++j) api.initialize_worker(ws[j], vs, p);
    }
  }
}

int monitor(apr_pool_t* /*p*/, server_rec* s) noexcept {
  const auto& shared = process_state().shared;
  if (!shared) return DECLINED;
  const std::int64_t returned = shared->reclaim_dead_rows(&process_alive);
  if (returned != 0) {
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 ISB_LOGNO(00040) "gave back %" APR_INT64_T_FMT
                                  " busy counts held by children that exited mid-request",
                 static_cast<apr_int64_t>(returned));
  }
  return OK;
}

}  // namespace isb::httpd

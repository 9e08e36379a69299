#include "lifecycle.hpp"

#include <cstring>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <ap_mpm.h>
#include <apr_general.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "canon.hpp"
#include "core/config/scope.hpp"
#include "core/policy/selector.hpp"
#include "core/routing/sticky.hpp"
#include "log_ids.hpp"
#include "members.hpp"
#include "persist.hpp"
#include "process_state.hpp"
#include "proxy_api.hpp"
#include "request_path.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {

// Trivially destructible, so exit() runs no destructor of it (core/immortal.hpp
// says why that matters).
static_assert(std::is_trivially_destructible_v<ProcessState>);

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
    server_rec* server;
    proxy_server_conf* conf;
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
      inv.balancers.push_back({b, {}, static_cast<std::uint32_t>(inv.balancers.size()), s, conf});
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

// A random nonce in the UUID format stock's page and scripts expect.
bool make_nonce(char (&out)[APR_UUID_FORMATTED_LENGTH + 1]) noexcept {
  unsigned char r[16];
  if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS) return false;
  r[6] = static_cast<unsigned char>((r[6] & 0x0f) | 0x40);  // version 4
  r[8] = static_cast<unsigned char>((r[8] & 0x3f) | 0x80);  // variant 1
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t o = 0;
  for (std::size_t i = 0; i < sizeof r; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[r[i] >> 4];
    out[o++] = kHex[r[i] & 15];
  }
  out[o] = '\0';
  return true;
}

// The scope (core/config/scope.hpp) of a virtual host: its ServerName and port, and the
// addresses of its <VirtualHost> line, as written there ("*" for a wildcard).
std::string scope_of(const server_rec* s) {
  std::vector<std::string> addresses;
  for (const server_addr_rec* a = s->addrs; a != nullptr; a = a->next) {
    std::string host = a->virthost ? a->virthost : "";
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    addresses.push_back(host + ":" + (a->host_port ? std::to_string(a->host_port) : "*"));
  }
  return vhost_scope(s->server_hostname ? s->server_hostname : "", s->port, addresses);
}

// Balancers that no saved edit can tell apart (the same name in virtual hosts of
// the same scope): say so at start, not only when their edits are skipped.
void warn_of_twins(server_rec* s) {
  const auto& all = local_balancers();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!all[i]) continue;
    const std::string_view name = field(all[i]->main->s->name).substr(sizeof(BALANCER_PREFIX) - 1);
    std::size_t matches = 0;
    find_local_in_scope(all[i]->scope, name, matches);
    bool first = true;  // warn once, at the first of the twins
    for (std::size_t j = 0; j < i && first; ++j) {
      first = !(all[j] && all[j]->scope == all[i]->scope &&
                strcasecmp(all[j]->main->s->name, all[i]->main->s->name) == 0);
    }
    if (matches > 1 && first) {
      ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                   ISB_LOGNO(00047) "%s is defined in %zu virtual hosts that have the same "
                                    "ServerName, port and addresses (%s): their runtime edits "
                                    "cannot be kept across a restart; give each its own "
                                    "ServerName or address",
                   all[i]->main->s->name, matches, all[i]->scope.c_str());
    }
  }
}

// Replays saved edits on a fresh segment, through the same validation as an
// operator's edit. What no longer fits the configuration is logged and skipped.
void replay_edits(server_rec* s, const SharedState& state, const std::vector<SavedEdit>& edits,
                  bool from_file, apr_pool_t* p) {
  const EditRules rules{selector_names(), process_state().health_checks};
  int applied = 0;
  int skipped = 0;
  for (const SavedEdit& saved : edits) {
    EditError err;
    auto e = parse_edit(saved.fields, rules, err);
    std::size_t matches = 0;
    LocalBalancer* lb = e ? find_local_in_scope(saved.scope, e->balancer, matches) : nullptr;
    if (lb != nullptr && from_file && !lb->persist) continue;
    std::optional<Refusal> refused;
    if (!e) {
      refused = Refusal{http::kBadRequest, err.field, err.message};
    } else if (matches > 1) {
      refused = Refusal{http::kConflict, "b",
                        "the balancer of " + std::to_string(matches) +
                            " virtual hosts fits it; give each its own ServerName or address"};
    } else if (lb == nullptr) {
      refused = Refusal{http::kNotFound, "b", "no such balancer in this configuration"};
    } else {
      refused = apply_edit(*lb, state, *e, p).refused;
    }
    if (refused) {
      ++skipped;
      const std::string form = encode_form(saved.fields);
      ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                   ISB_LOGNO(00022) "runtime edit '%s' (%s) no longer applies (%s%s%s); skipped",
                   form.c_str(), saved.scope.c_str(), refused->field.c_str(),
                   refused->field.empty() ? "" : ": ", refused->message.c_str());
      continue;
    }
    ++applied;
  }
  if (applied + skipped > 0) {
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 ISB_LOGNO(00023) "restored %d runtime edits from %s (%d skipped)", applied,
                 from_file ? state_file_path(p) : "the previous generation", skipped);
  }
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

// pconf cleanup, registered before carry_edits_on_cleanup so that it runs after it:
// frees this generation's balancers in the parent, before httpd unloads this
// library for the next one. A child never runs it (it exits without clearing
// pconf), and local_balancers() is never destroyed, so exit() frees nothing that
// another thread of the child may still be using.
apr_status_t forget_local_balancers(void*) noexcept {
  std::vector<std::unique_ptr<LocalBalancer>>().swap(local_balancers());
  return APR_SUCCESS;
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

int post_config(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* ptemp,
                server_rec* s) noexcept {
  // httpd runs post_config twice at start-up; the first is a dry run.
  if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) return OK;
  try {
    ProxyApi& api = proxy_api();
    Inventory inv = take_inventory(s, api.proxy_module);

    for (const auto& e : inv.balancers) {
      if (!is_our_lbmethod(e.first->lbmethod)) {
        std::string names;
        for (auto name : selector_names()) names.append(names.empty() ? "" : ", ").append(name);
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ISB_LOGNO(00009) "%s: lbmethod '%s' is not provided by mod_isbalancer; use "
                                      "one of %s",
                     e.first->s->name, e.first->s->lbpname, names.c_str());
        return HTTP_INTERNAL_SERVER_ERROR;
      }
      // A stickysession no session can match is a silent loss of stickiness: refuse it.
      if (!sticky_names_usable(field(e.first->s->sticky), field(e.first->s->sticky_path))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ISB_LOGNO(00042) "%s: stickysession='%s|%s' names no cookie, or a name "
                                      "with '|' or a space, which no session matches; write "
                                      "stickysession=JSESSIONID|jsessionid (cookie and URL "
                                      "name) or stickysession=JSESSIONID",
                     e.first->s->name, e.first->s->sticky, e.first->s->sticky_path);
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
        // The old generation's edits live on in the kept segment: open it again.
        for (std::uint32_t i = 0; i < geometry.balancer_capacity; ++i) {
          state->balancer(i).closed.store(0, std::memory_order_release);
        }
        auto gen = state->header().generation.fetch_add(1) + 1;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     ISB_LOGNO(00008) "configuration unchanged: keeping the shared state of "
                                      "%" APR_SIZE_T_FMT " members (generation %" APR_UINT64_T_FMT ")",
                     static_cast<apr_size_t>(inv.workers.size()), static_cast<apr_uint64_t>(gen));
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
    // that already holds the same member (same name hash) is re-used as it is,
    // runtime edits included. What the configuration says is noted first.
    const bool fresh = state->header().generation.load() == 0;
    const bool health_checks = ap_find_linked_module("mod_proxy_hcheck.c") != nullptr;
    auto& locals = local_balancers();
    locals.clear();
    apr_pool_cleanup_register(pconf, nullptr, &forget_local_balancers, apr_pool_cleanup_null);
    std::uint32_t member = 0;
    std::unordered_map<const proxy_worker*, bool> shared_worker;
    for (auto& e : inv.balancers) {
      proxy_balancer* b = e.first;
      auto lb = std::make_unique<LocalBalancer>();
      lb->main = b;
      lb->copies = e.copies;
      lb->server = e.server;
      lb->conf = e.conf;
      lb->slot = e.slot;
      lb->first_member = member;
      lb->scope = scope_of(e.server);
      lb->persist = e.conf->bal_persist != 0;
      lb->configured_balancer = read_settings(*b);
      // Stock default: as many failover attempts as there are other members.
      if (!b->s->max_attempts_set && b->workers->nelts > 1) {
        b->s->max_attempts = b->workers->nelts - 1;
        b->s->max_attempts_set = 1;
        lb->configured_balancer.max_attempts = b->s->max_attempts;
      }
      auto* bshm = static_cast<proxy_balancer_shared*>(state->balancer_host(e.slot));
      apr_status_t rv = api.share_balancer(b, bshm, static_cast<int>(e.slot));
      if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, ISB_LOGNO(00006) "cannot share balancer %s",
                     b->s->name);
        return HTTP_INTERNAL_SERVER_ERROR;
      }
      // share_balancer gives a fresh balancer a nonce from a non-cryptographic
      // generator; ours replaces it. A kept segment keeps its nonce.
      if (fresh && !make_nonce(b->s->nonce)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ISB_LOGNO(00021) "no random bytes for the balancer-manager nonce of %s",
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
        MemberSettings configured = read_settings(*ws[j]->s);
        auto* wshm = static_cast<proxy_worker_shared*>(state->member_host(member));
        rv = api.share_worker(ws[j], wshm, static_cast<int>(member));
        if (rv != APR_SUCCESS) {
          ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                       ISB_LOGNO(00006) "cannot share member %s of %s", ws[j]->s->name_ex,
                       b->s->name);
          return HTTP_INTERNAL_SERVER_ERROR;
        }
        MemberCounters& c = state->member(member);
        if (fresh) c.slot.store(slot_word(SlotState::kActive, 1));
        lb->members.push_back({ws[j], slot_incarnation(c.slot.load()), ws[j]->s->name_ex});
        lb->configured.emplace_back(std::move(configured));
        ++member;
      }
      const auto growth = static_cast<std::uint32_t>(b->growth > 0 ? b->growth : 0);
      lb->members.resize(lb->members.size() + growth);
      lb->configured.resize(lb->configured.size() + growth);
      for (const auto& c : lb->configured) lb->configured_slot.push_back(c ? 1 : 0);
      member += growth;
      lb->member_slots = member - lb->first_member;
      lb->urls = std::make_unique<std::atomic<const MemberUrl*>[]>(lb->member_slots);
      BalancerCounters& bc = state->balancer(e.slot);
      bc.first_member = lb->first_member;
      bc.member_slots = lb->member_slots;
      locals.push_back(std::move(lb));
    }
    process_state().shared = state;
    process_state().parent_pid = getpid();
    process_state().health_checks = health_checks;
    plan_member_canon(s);

    // A new segment starts from the configuration; bring back the runtime edits
    // of the previous generation, or of the last run when BalancerPersist is On.
    warn_of_twins(s);
    prepare_state_dir(s, ptemp);
    std::vector<SavedEdit> carried = take_carried_edits(s);
    if (fresh) {
      const bool from_file = carried.empty();
      if (from_file) carried = read_state_file(s, ptemp);
      replay_edits(s, *state, carried, from_file, pconf);
    }
    apr_pool_cleanup_register(pconf, s, &carry_edits_on_cleanup, apr_pool_cleanup_null);
    return OK;
  } catch (const std::exception& e) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, ISB_LOGNO(00017) "post_config: %s", e.what());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
}

void child_init(apr_pool_t* p, server_rec* s) noexcept {
  const auto& shared = process_state().shared;
  if (!shared) {
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
  try {
    ProxyApi& api = proxy_api();
    // Configured members: initialise this process's side of each (its connection
    // pool), then build the member lists from the segment, which adds members
    // added at run time and leaves out removed ones.
    for (const auto& lb : local_balancers()) {
      for (const LocalMember& m : lb->members) {
        if (m.worker != nullptr) api.initialize_worker(m.worker, lb->server, p);
      }
    }
    apr_pool_t* pool = nullptr;
    apr_pool_create(&pool, p);
    apr_pool_tag(pool, "isbalancer_members");
    process_state().child_pool = pool;
    for (const auto& lb : local_balancers()) sync_members(*lb, *shared, pool, true);
  } catch (const std::exception& e) {
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, ISB_LOGNO(00017) "child_init: %s", e.what());
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

#include "lifecycle.hpp"

#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <ap_mpm.h>
#include <apr_general.h>
#include <mod_watchdog.h>
#include <unistd.h>

#include "canon.hpp"
#include "core/config/conflicts.hpp"
#include "core/config/inventory.hpp"
#include "core/config/vhosts.hpp"
#include "core/health/slow_start.hpp"
#include "core/manager/nonce.hpp"
#include "core/persist/replay.hpp"
#include "core/policy/selector.hpp"
#include "core/routing/sticky.hpp"
#include "core/shm/generation.hpp"
#include "directives.hpp"
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

// The configured values of a member for the fingerprint: its whole shared struct
// as mod_proxy parsed it, less the fields that change at run time or per start.
void add_configured(ConfigFingerprint& f, const proxy_worker_shared& in) noexcept {
  proxy_worker_shared s;
  std::memcpy(&s, &in, sizeof s);
  s.updated = 0;
  s.error_time = 0;
  s.index = 0;
  s.context = nullptr;
  f.add_value(s);
}

void add_configured(ConfigFingerprint& f, const proxy_balancer& b) noexcept {
  proxy_balancer_shared s;
  std::memcpy(&s, b.s, sizeof s);
  s.wupdated = 0;
  s.index = 0;
  std::memset(s.sname, 0, sizeof s.sname);
  f.add_value(s);
  f.add_value(b.growth);
  f.add_value(b.failontimeout);
}

// Every balancer of every virtual host as mod_proxy parsed it, and what the core
// makes of them (core/config/inventory.hpp). Inherited balancers are struct
// copies that share `s` and the workers array with the main server's, so a
// balancer's identity is its pre-share `s` pointer, a member's its worker pointer.
struct Configuration {
  struct Listing {
    proxy_balancer* balancer;
    server_rec* server;
    proxy_server_conf* conf;
  };
  std::vector<Listing> where;  // per listed balancer
  Inventory<proxy_worker*> inventory;
  std::uint64_t fingerprint = 0;
};

Configuration read_configuration(server_rec* main_server, module* proxy) {
  Configuration c;
  std::vector<ListedBalancer<proxy_worker*>> listed;
  for (server_rec* s = main_server; s != nullptr; s = s->next) {
    auto* conf = static_cast<proxy_server_conf*>(ap_get_module_config(s->module_config, proxy));
    auto* bs = reinterpret_cast<proxy_balancer*>(conf->balancers->elts);
    for (int i = 0; i < conf->balancers->nelts; ++i) {
      proxy_balancer* b = &bs[i];
      auto** ws = reinterpret_cast<proxy_worker**>(b->workers->elts);
      c.where.push_back({b, s, conf});
      listed.push_back(
          {b->s, std::span<proxy_worker* const>(ws, static_cast<std::size_t>(b->workers->nelts)),
           b->growth});
    }
  }
  c.inventory = take_inventory<proxy_worker*>(listed);
  c.fingerprint = fingerprint(
      c.inventory,
      [&c](std::size_t listing, ConfigFingerprint& f) {
        add_configured(f, *c.where[listing].balancer);
      },
      [](proxy_worker* w, ConfigFingerprint& f) { add_configured(f, *w->s); });
  // Our own settings (ISBalancerSet, ISBalancerMemberSet) are configuration too.
  if (const std::string own = own_settings_text(main_server); !own.empty()) {
    ConfigFingerprint f;
    f.add_value(c.fingerprint);
    f.add(own.data(), own.size());
    c.fingerprint = f.value();
  }
  return c;
}

std::optional<Segment> create_segment(std::size_t bytes, server_rec* s) {
  apr_pool_t* ppool = s->process->pool;
  apr_shm_t* shm = nullptr;
  apr_status_t rv = apr_shm_create(&shm, mapping_bytes(bytes), nullptr, ppool);
  if (rv != APR_SUCCESS) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                 ISB_LOGNO(00004) "cannot create %" APR_SIZE_T_FMT
                                  " bytes of anonymous shared memory for the "
                                  "balancers; check the memory limits of the httpd user",
                 static_cast<apr_size_t>(bytes));
    return std::nullopt;
  }
  return Segment{shm, aligned_start(apr_shm_baseaddr_get(shm)), bytes};
}

// A random nonce (core/manager/nonce.hpp).
bool make_nonce(char (&out)[APR_UUID_FORMATTED_LENGTH + 1]) noexcept {
  static_assert(APR_UUID_FORMATTED_LENGTH == kNonceChars);
  unsigned char r[kNonceBytes];
  if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS) return false;
  format_nonce(r, out);
  return true;
}

// The scope (core/config/scope.hpp) of a virtual host: its ServerName and port, and the
// addresses of its <VirtualHost> line.
std::string scope_of(const server_rec* s) {
  std::vector<VhostAddress> addresses;
  for (const server_addr_rec* a = s->addrs; a != nullptr; a = a->next) {
    addresses.push_back({a->virthost ? a->virthost : "", a->host_port});
  }
  return scope_of_vhost(s->server_hostname ? s->server_hostname : "", s->port, addresses);
}

std::string_view short_name(const LocalBalancer& lb) noexcept {
  return field(lb.main->s->name).substr(sizeof(BALANCER_PREFIX) - 1);
}

// Balancers that no saved edit can tell apart (core/config/vhosts.hpp): say so
// at start, not only when their edits are skipped.
void warn_of_twins(server_rec* s) {
  std::vector<ScopedBalancer> scoped;
  std::vector<const LocalBalancer*> owners;
  for (const auto& lb : local_balancers()) {
    if (!lb) continue;
    scoped.push_back({lb->scope, short_name(*lb)});
    owners.push_back(lb.get());
  }
  for (const Twins& t : find_twins(scoped)) {
    const LocalBalancer& lb = *owners[t.first];
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 ISB_LOGNO(00047) "%s is defined in %zu virtual hosts that have the same "
                                  "ServerName, port and addresses (%s): their runtime edits "
                                  "cannot be kept across a restart; give each its own "
                                  "ServerName or address",
                 lb.main->s->name, t.count, lb.scope.c_str());
  }
}

// Replays saved edits on a fresh segment (core/persist/replay.hpp decides which
// balancer each is for, and what is skipped), through the same validation as an
// operator's edit. What no longer fits the configuration is logged and skipped.
void replay_edits(server_rec* s, const SharedState& state, const std::vector<SavedEdit>& edits,
                  bool from_file, apr_pool_t* p) {
  const EditRules rules{selector_names(), process_state().health_checks};
  std::vector<ReplayBalancer> balancers;
  std::vector<LocalBalancer*> owners;
  for (const auto& lb : local_balancers()) {
    if (!lb) continue;
    balancers.push_back({{lb->scope, short_name(*lb)}, lb->persist});
    owners.push_back(lb.get());
  }
  ReplayTally tally;
  for (const SavedEdit& saved : edits) {
    ReplayStep step = plan_replay(saved, balancers, rules, from_file);
    if (step.action == ReplayStep::Action::kIgnore) continue;
    if (step.action == ReplayStep::Action::kApply) {
      step.refused = apply_edit(*owners[step.balancer], state, *step.edit, p).refused;
    }
    tally.count(step.refused);
    if (step.refused) {
      const std::string form = encode_form(saved.fields);
      ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                   ISB_LOGNO(00022) "runtime edit '%s' (%s) no longer applies (%s%s%s); skipped",
                   form.c_str(), saved.scope.c_str(), step.refused->field.c_str(),
                   step.refused->field.empty() ? "" : ": ", step.refused->message.c_str());
    }
  }
  if (tally.worth_a_notice()) {
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 ISB_LOGNO(00023) "restored %d runtime edits from %s (%d skipped)", tally.applied,
                 from_file ? state_file_path(p) : "the previous generation", tally.skipped);
  }
}

// The MPM's limit on child processes, if it tells one (core/shm/generation.hpp
// sizes the busy ledger from it).
std::optional<int> mpm_process_limit() noexcept {
  int limit = 0;
  if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit) != APR_SUCCESS) return std::nullopt;
  return limit;
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

}  // namespace

int pre_config(apr_pool_t* /*pconf*/, apr_pool_t* plog, apr_pool_t* /*ptemp*/) noexcept {
  const auto conflict =
      find_conflict([](const char* source) { return ap_find_linked_module(source) != nullptr; });
  if (conflict) {
    ap_log_perror(APLOG_MARK, APLOG_EMERG, 0, plog,
                  ISB_LOGNO(00001) "mod_isbalancer replaces %s, and both are loaded. Disable "
                                   "one of them: 'a2dismod %s' (or remove its LoadModule "
                                   "line), or 'a2dismod isbalancer'.",
                  conflict->source, conflict->name);
    return HTTP_INTERNAL_SERVER_ERROR;
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

namespace {

apr_status_t watch_service(int state, void* /*data*/, apr_pool_t* /*pool*/) noexcept {
  const auto& shared = process_state().shared;
  if (state == AP_WATCHDOG_STATE_RUNNING && shared) observe_service(*shared, apr_time_now());
  return APR_SUCCESS;
}

// With mod_watchdog loaded (mod_proxy_hcheck needs it), one child looks at every
// member once a second, so that slow start's clock sees a member the health check
// took out and let back while no request came. Without it, the monitor hook
// (every ten seconds or so), requests and edits tell the clock.
void start_service_watch(apr_pool_t* pconf, server_rec* s) {
  auto* get = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
  auto* reg = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
  if (get == nullptr || reg == nullptr) return;
  ap_watchdog_t* watchdog = nullptr;
  // A child watchdog, one child at a time (a forked MPM has no parent watchdogs).
  apr_status_t rv = get(&watchdog, "mod_isbalancer", 0, 1, pconf);
  if (rv == APR_SUCCESS) rv = reg(watchdog, apr_time_from_sec(1), nullptr, &watch_service);
  if (rv != APR_SUCCESS) {
    ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                 ISB_LOGNO(00049) "no mod_watchdog callback: slow start learns of a member "
                                  "back in service from requests, edits and the monitor hook");
  }
}

}  // namespace

int post_config(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* ptemp,
                server_rec* s) noexcept {
  // httpd runs post_config twice at start-up; the first is a dry run.
  if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) return OK;
  try {
    ProxyApi& api = proxy_api();
    const Configuration config = read_configuration(s, api.proxy_module);
    const Inventory<proxy_worker*>& inv = config.inventory;

    for (const auto& e : inv.balancers) {
      const proxy_balancer* b = config.where[e.listing].balancer;
      if (!is_our_lbmethod(b->lbmethod)) {
        const std::string names = selector_list();
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ISB_LOGNO(00009) "%s: lbmethod '%s' is not provided by mod_isbalancer; use "
                                      "one of %s",
                     b->s->name, b->s->lbpname, names.c_str());
        return HTTP_INTERNAL_SERVER_ERROR;
      }
      // A stickysession no session can match is a silent loss of stickiness: refuse it.
      if (!sticky_names_usable(field(b->s->sticky), field(b->s->sticky_path))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     ISB_LOGNO(00042) "%s: stickysession='%s|%s' names no cookie, or a name "
                                      "with '|' or a space, which no session matches; write "
                                      "stickysession=JSESSIONID|jsessionid (cookie and URL "
                                      "name) or stickysession=JSESSIONID",
                     b->s->name, b->s->sticky, b->s->sticky_path);
        return HTTP_INTERNAL_SERVER_ERROR;
      }
    }

    SegmentGeometry geometry{static_cast<std::uint32_t>(inv.balancers.size()), inv.member_capacity,
                             static_cast<std::uint32_t>(sizeof(proxy_balancer_shared)),
                             static_cast<std::uint32_t>(sizeof(proxy_worker_shared)),
                             process_rows(mpm_process_limit())};
    auto bytes = SharedState::bytes_needed(geometry);
    if (!bytes) {
      ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                   ISB_LOGNO(00003) "too many balancers or members for one shared segment "
                                    "(%" APR_SIZE_T_FMT " balancers, %u member slots); lower growth= or "
                                    "BalancerGrowth",
                   static_cast<apr_size_t>(inv.balancers.size()), inv.member_capacity);
      return HTTP_INTERNAL_SERVER_ERROR;
    }

    // Keep the previous generation's segment when the configuration is the same
    // (core/shm/generation.hpp): counters and runtime edits survive a graceful restart.
    apr_pool_t* ppool = s->process->pool;
    void* data = nullptr;
    apr_pool_userdata_get(&data, kSegmentKey, ppool);
    auto* old = static_cast<Segment*>(data);
    std::optional<SharedState> state;
    if (old != nullptr) {
      if (auto kept = keep_segment(old->base, old->size, geometry, config.fingerprint)) {
        state = kept->state;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     ISB_LOGNO(00008) "configuration unchanged: keeping the shared state of "
                                      "%" APR_SIZE_T_FMT " members (generation %" APR_UINT64_T_FMT ")",
                     static_cast<apr_size_t>(inv.member_count),
                     static_cast<apr_uint64_t>(kept->generation));
      } else {
        // Children of the old generation keep their own mapping until they exit.
        apr_shm_destroy(old->shm);
        apr_pool_userdata_set(nullptr, kSegmentKey, apr_pool_cleanup_null, ppool);
      }
    }
    if (!state) {
      auto seg = create_segment(*bytes, s);
      if (!seg) return HTTP_INTERNAL_SERVER_ERROR;
      state = SharedState::create(seg->base, seg->size, geometry, config.fingerprint);
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

    // Move each balancer's and member's mod_proxy struct into the slot the
    // inventory gave it. A slot that already holds the same member (same name
    // hash) is re-used as it is, runtime edits included. What the configuration
    // says is noted first.
    const bool fresh = fresh_segment(*state);
    const bool health_checks = ap_find_linked_module("mod_proxy_hcheck.c") != nullptr;
    auto& locals = local_balancers();
    locals.clear();
    apr_pool_cleanup_register(pconf, nullptr, &forget_local_balancers, apr_pool_cleanup_null);
    for (const auto& e : inv.balancers) {
      const Configuration::Listing& at = config.where[e.listing];
      proxy_balancer* b = at.balancer;
      auto lb = std::make_unique<LocalBalancer>();
      lb->main = b;
      for (std::size_t copy : e.copies) lb->copies.push_back(config.where[copy].balancer);
      lb->server = at.server;
      lb->conf = at.conf;
      lb->slot = e.slot;
      lb->first_member = e.first_member;
      lb->scope = scope_of(at.server);
      lb->persist = at.conf->bal_persist != 0;
      lb->configured_balancer = read_settings(*b);
      if (auto attempts = default_max_attempts(b->s->max_attempts_set != 0, b->workers->nelts)) {
        b->s->max_attempts = *attempts;
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
      for (proxy_balancer* copy : lb->copies) {
        copy->s = b->s;
        copy->lbmethod = b->lbmethod;
      }
      std::uint32_t member = e.first_member;
      for (proxy_worker* w : e.members) {
        MemberSettings configured = read_settings(*w->s);
        auto* wshm = static_cast<proxy_worker_shared*>(state->member_host(member));
        rv = api.share_worker(w, wshm, static_cast<int>(member));
        if (rv != APR_SUCCESS) {
          ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                       ISB_LOGNO(00006) "cannot share member %s of %s", w->s->name_ex, b->s->name);
          return HTTP_INTERNAL_SERVER_ERROR;
        }
        lb->members.push_back({w, take_configured_slot(*state, member, fresh), w->s->name_ex});
        lb->configured.emplace_back(std::move(configured));
        ++member;
      }
      // The growth slots, after the configured members.
      lb->members.resize(e.member_slots);
      lb->configured.resize(e.member_slots);
      for (const auto& c : lb->configured) lb->configured_slot.push_back(c ? 1 : 0);
      lb->member_slots = e.member_slots;
      lb->urls = std::make_unique<std::atomic<const MemberUrl*>[]>(lb->member_slots);
      BalancerCounters& bc = state->balancer(e.slot);
      bc.first_member = lb->first_member;
      bc.member_slots = lb->member_slots;
      locals.push_back(std::move(lb));
    }
    // Our own settings: into each configured member's value, and, on a new
    // segment, into its policy region (a kept one has them, and any edits).
    if (auto wrong = apply_own_settings(s)) {
      ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, ISB_LOGNO(00048) "%s", wrong->c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    const std::int64_t now = apr_time_now();
    for (const auto& lb : locals) {
      lb->configured_balancer = lb->member_defaults.applied(lb->configured_balancer);
      if (!fresh) continue;
      write_own_settings(*state, lb->first_member, lb->configured);
      for (std::uint32_t k = 0; k < lb->configured.size(); ++k) {
        if (lb->configured[k]) note_segment_start(state->member(lb->first_member + k), now);
      }
      write_own_settings(state->balancer(lb->slot), lb->configured_balancer);
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
    const ReplaySource source = replay_source(fresh, !carried.empty());
    if (source == ReplaySource::kStateFile) carried = read_state_file(s, ptemp);
    if (source != ReplaySource::kNone) {
      replay_edits(s, *state, carried, source == ReplaySource::kStateFile, pconf);
    }
    apr_pool_cleanup_register(pconf, s, &carry_edits_on_cleanup, apr_pool_cleanup_null);
    start_service_watch(pconf, s);
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
  const Reclaimed returned = shared->reclaim_dead_rows(&process_alive);
  if (returned.any()) {
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 ISB_LOGNO(00040) "gave back %" APR_INT64_T_FMT " busy counts, %" APR_INT64_T_FMT
                                  " requests in flight and %" APR_INT64_T_FMT
                                  " failovers in flight held by children that exited "
                                  "mid-request",
                 static_cast<apr_int64_t>(returned.busy),
                 static_cast<apr_int64_t>(returned.in_flight),
                 static_cast<apr_int64_t>(returned.retries_in_flight));
  }
  observe_service(*shared, apr_time_now());
  return OK;
}

}  // namespace isb::httpd

// Which members each balancer has, in every process, and the operator-settable
// values of members and balancers.
//
// The truth is the shared segment: a member slot is free, active or removed (see
// SlotState), and each balancer's members_version changes whenever that set
// changes. Each process keeps its own proxy_worker for every active slot (the
// connection pool is per process) and publishes a fresh, never-modified
// apr_array_header_t as balancer->workers when the version moves. Readers load
// that pointer once per request, so they always see one consistent list; an old
// list stays valid for requests still using it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "canon.hpp"
#include "core/config/own_settings.hpp"
#include "core/manager/manager_edit.hpp"
#include "core/manager/refusal.hpp"
#include "core/policy/state_cache.hpp"
#include "core/routing/route_index.hpp"
#include "core/shm/member_slots.hpp"
#include "core/shm/shared_state.hpp"
#include "httpd_includes.hpp"
#include "worker_table.hpp"

namespace isb::httpd {

struct LocalMember {
  proxy_worker* worker = nullptr;
  std::uint64_t incarnation = 0;
  // The member URL `worker` was made for. A slot reused by the same URL (a member
  // removed and added again) keeps its worker, connection pool included, instead
  // of making another that this process would keep for good.
  std::string name;
};

struct LocalBalancer {
  proxy_balancer* main = nullptr;       // as parsed for its own virtual host
  std::vector<proxy_balancer*> copies;  // inherited copies in other virtual hosts
  server_rec* server = nullptr;         // the virtual host that defines it
  proxy_server_conf* conf = nullptr;    // that host's mod_proxy configuration
  std::uint32_t slot = 0;               // balancer slot in the segment
  std::uint32_t first_member = 0;       // first member slot
  std::uint32_t member_slots = 0;       // configured members + growth
  std::string scope;                    // of `server` (core/config/scope.hpp): the state file key
  bool persist = false;                 // BalancerPersist On for its host
  std::vector<LocalMember> members;     // per member slot, relative to first_member
  // Per member slot, relative to first_member: the canonical URL parts of the
  // member's proxy_worker in this process (canon.hpp). Replaced, never changed,
  // by sync_members; read by requests without a lock.
  std::unique_ptr<std::atomic<const MemberUrl*>[]> urls;
  std::vector<std::optional<MemberSettings>> configured;  // nullopt: a growth slot
  std::vector<std::uint8_t> configured_slot;              // 1 where `configured` has a value
  BalancerSettings configured_balancer;
  // The settings ISBalancerSet gives this balancer (ejection cap, retry budget)
  // and every member of it, including one added at run time.
  OwnSettings member_defaults;
  std::atomic<std::uint64_t> seen_version{~std::uint64_t{0}};
  // The selector's per-process state, for members as of seen_version.
  SelectorStateCache selector_states;
  // Which members carry each route (core/routing/route_index.hpp), for the member
  // list sync_members published last; replaced, never changed. The ones it
  // replaced stay until the generation ends: a request may still read one.
  std::atomic<const RouteIndex*> routes{nullptr};
  std::vector<std::unique_ptr<RouteIndex>> route_indexes;

  // Its member slots, as core/shm/member_slots.hpp takes them.
  BalancerSlots slots() const noexcept {
    return {slot, first_member, configured_slot, member_slots};
  }
};

// Every balancer of this generation, indexed by balancer slot. Filled by the
// parent in post_config and inherited by the children.
std::vector<std::unique_ptr<LocalBalancer>>& local_balancers() noexcept;

inline LocalBalancer* local_balancer(const proxy_balancer* b) noexcept {
  auto& all = local_balancers();
  auto i = static_cast<std::size_t>(b->s->index);
  return i < all.size() ? all[i].get() : nullptr;
}

// Rebuilds this process's member list of `lb` if the shared version moved (or
// always, with force). `pool` lives as long as the process.
void sync_members(LocalBalancer& lb, const SharedState& state, apr_pool_t* pool, bool force);

// The per-request check: one atomic load when nothing changed.
inline void keep_in_step(LocalBalancer& lb, const SharedState& state, apr_pool_t* pool) {
  if (state.balancer(lb.slot).members_version.load(std::memory_order_acquire) !=
      lb.seen_version.load(std::memory_order_acquire)) {
    sync_members(lb, state, pool, false);
  }
}

// The MemberUrl of `worker` (a member of `lb`), or nullptr if there is none.
inline const MemberUrl* member_url(const LocalBalancer& lb, const proxy_worker* worker) noexcept {
  const auto i = static_cast<std::uint32_t>(worker->s->index) - lb.first_member;
  if (!lb.urls || i >= lb.member_slots) return nullptr;
  return lb.urls[i].load(std::memory_order_acquire);
}

// The active slot (absolute index) of the member called `name`, if any.
std::optional<std::uint32_t> find_member_slot(const LocalBalancer& lb, const SharedState& state,
                                              std::string_view name);

inline proxy_worker_shared* member_shared(const SharedState& state, std::uint32_t slot) {
  return static_cast<proxy_worker_shared*>(state.member_host(slot));
}

// A member's settings: mod_proxy's from its shared struct, and, with the
// member's counters, ours (the schema's Owner::kOurs fields) from their policy
// region; without them ours are the struct's defaults.
MemberSettings read_settings(const proxy_worker_shared& s);
MemberSettings read_settings(const proxy_worker_shared& s, const MemberCounters& c);
BalancerSettings read_settings(const proxy_balancer& b);
BalancerSettings read_settings(const proxy_balancer& b, const BalancerCounters& c);

// Writes the member fields of `e` into the member's shared struct and policy
// region. Values were validated by parse_edit; the health-check method must be
// known (see hc_method_known).
void write_member(proxy_worker_shared& s, MemberCounters& c, const EditRequest& e);
// Writes the balancer fields of `e` (not add_member).
void write_balancer(proxy_balancer& b, BalancerCounters& counters, const EditRequest& e);

bool hc_method_known(std::string_view name);

// Tells every active member's slow-start clock whether it is in service now
// (health/slow_start.hpp): one child does once a second through mod_watchdog, the
// parent's monitor hook every ten seconds or so, so that a member
// that went out and came back while no request came still ramps.
void observe_service(const SharedState& state, std::int64_t now);

// Claims a free growth slot of `lb` and defines `url` in it, disabled, as stock
// does for a new member. Returns the slot, or nothing and `why`.
std::optional<std::uint32_t> add_member(LocalBalancer& lb, const SharedState& state,
                                        const std::string& url, apr_pool_t* scratch,
                                        std::string& why);
// The form fields that recreate the runtime edits of `lb` on top of its
// configuration: one form per line, replayed through parse_edit at start-up.
std::vector<std::vector<FormField>> runtime_edits(const LocalBalancer& lb,
                                                  const SharedState& state);

// The balancer `name` (without "balancer://") of the virtual host with this
// configuration, or of the state-file scope.
LocalBalancer* find_local(const proxy_server_conf* conf, std::string_view name);
// `matches` says how many balancers fit; more than one is ambiguous and nothing
// is returned (core/config/scope.hpp).
LocalBalancer* find_local_in_scope(std::string_view scope, std::string_view name,
                                   std::size_t& matches);

struct ApplyOutcome {
  std::optional<Refusal> refused;    // set: nothing was changed, and why
  std::vector<std::string> changes;  // "member http://a: loadfactor 1 -> 2", ...
};

// Applies a validated edit to `lb`: balancer fields, then an added member, then
// the member fields (which may name the member just added). Everything that can
// be refused is checked before anything is written. Not thread-safe for the same
// balancer: the caller holds its edit lock, or runs before any child exists.
ApplyOutcome apply_edit(LocalBalancer& lb, const SharedState& state, const EditRequest& e,
                        apr_pool_t* scratch);

}  // namespace isb::httpd

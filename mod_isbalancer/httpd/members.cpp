#include "members.hpp"

#include <apr_time.h>

#include <cstring>

#include "core/base/immortal.hpp"
#include "core/config/scope.hpp"
#include "core/health/ejection.hpp"
#include "core/health/slow_start.hpp"
#include "core/manager/apply.hpp"
#include "core/persist/runtime_edits.hpp"
#include "core/policy/selector.hpp"
#include "core/routing/balancer_url.hpp"
#include "process_state.hpp"
#include "proxy_api.hpp"
#include "worker_table.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {
namespace {

// Guards the building of member lists and the pool they come from; taken only
// when a balancer's members changed.
std::mutex g_sync_mutex;

template <std::size_t N>
void copy_field(char (&dst)[N], std::string_view src) noexcept {
  std::size_t n = src.size() < N - 1 ? src.size() : N - 1;
  std::memcpy(dst, src.data(), n);
  std::memset(dst + n, 0, N - n);
}

std::string hc_method_name(hcmethod_t method) {
  const proxy_hcmethods_t* m = proxy_api().hcmethods;
  for (int i = 0; m != nullptr && i < 32 && m[i].name != nullptr; ++i) {
    if (m[i].method == method) return m[i].name;
  }
  return "";
}

// mod_proxy_hcheck's implemented method called `name` (any case), or nullptr.
const proxy_hcmethods_t* find_hc_method(std::string_view name) {
  const proxy_hcmethods_t* m = proxy_api().hcmethods;
  for (int i = 0; m != nullptr && i < 32 && m[i].name != nullptr; ++i) {
    if (m[i].implemented && std::strlen(m[i].name) == name.size() &&
        strncasecmp(m[i].name, name.data(), name.size()) == 0) {
      return &m[i];
    }
  }
  return nullptr;
}

// The slot word of a member slot, relative index i.
std::uint64_t slot_of(const LocalBalancer& lb, const SharedState& state, std::uint32_t i) {
  return state.member(lb.first_member + i).slot.load(std::memory_order_acquire);
}

// The type of local_balancers()'s one object.
struct LocalBalancers {
  std::vector<std::unique_ptr<LocalBalancer>> all;
};

}  // namespace

std::vector<std::unique_ptr<LocalBalancer>>& local_balancers() noexcept {
  // Never destroyed (core/immortal.hpp): a child exiting from its SIGTERM handler
  // may be inside child_init's sync_members on these very balancers. The parent
  // empties it when a generation ends (forget_local_balancers).
  return immortal<LocalBalancers>().all;
}

void sync_members(LocalBalancer& lb, const SharedState& state, apr_pool_t* pool, bool force) {
  std::lock_guard<std::mutex> hold(g_sync_mutex);
  const std::uint64_t version =
      state.balancer(lb.slot).members_version.load(std::memory_order_acquire);
  if (!force && version == lb.seen_version.load(std::memory_order_relaxed)) return;
  ProxyApi& api = proxy_api();
  apr_array_header_t* list = apr_array_make(
      pool, static_cast<int>(lb.member_slots > 0 ? lb.member_slots : 1), sizeof(proxy_worker*));
  for (std::uint32_t i = 0; i < lb.member_slots; ++i) {
    const std::uint64_t word = slot_of(lb, state, i);
    LocalMember& local = lb.members[i];
    const std::string_view name = field(member_shared(state, lb.first_member + i)->name_ex);
    const LocalSlot action =
        local_slot_action(word, local.worker != nullptr, local.incarnation, local.name, name);
    if (action == LocalSlot::kLeaveOut) continue;
    if (action == LocalSlot::kReuse) {
      // The same URL again in this slot: the worker still fits it.
      local.worker->hash = local.worker->s->hash;
      local.incarnation = slot_incarnation(word);
    }
    if (action == LocalSlot::kMake) {
      // A member another process (or an earlier edit) put into this slot.
      auto* w = static_cast<proxy_worker*>(apr_pcalloc(pool, sizeof(proxy_worker)));
      w->s = member_shared(state, lb.first_member + i);
      w->hash = w->s->hash;
      w->balancer = lb.main;
      apr_status_t rv = api.initialize_worker(w, lb.server, pool);
      if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, lb.server,
                     "mod_isbalancer: cannot initialise member %s of %s; it is left out",
                     w->s->name_ex, lb.main->s->name);
        continue;
      }
      local = {w, slot_incarnation(word), std::string(name)};
    }
    if (lb.urls) {
      const MemberUrl* url = lb.urls[i].load(std::memory_order_relaxed);
      if (url == nullptr || url->worker != local.worker ||
          std::strcmp(url->name, local.worker->s->name_ex) != 0) {
        lb.urls[i].store(make_member_url(local.worker, pool), std::memory_order_release);
      }
    }
    *static_cast<proxy_worker**>(apr_array_push(list)) = local.worker;
  }
  std::atomic_ref<apr_array_header_t*>(lb.main->workers).store(list, std::memory_order_release);
  for (proxy_balancer* copy : lb.copies) {
    std::atomic_ref<apr_array_header_t*>(copy->workers).store(list, std::memory_order_release);
  }
  WorkerTable table(lb.main, state);
  lb.route_indexes.push_back(std::make_unique<RouteIndex>(RouteIndex::build(table)));
  lb.routes.store(lb.route_indexes.back().get(), std::memory_order_release);
  lb.seen_version.store(version, std::memory_order_release);
}

std::optional<std::uint32_t> find_member_slot(const LocalBalancer& lb, const SharedState& state,
                                              std::string_view name) {
  return find_active_member(state, lb.slots(), name, [&state](std::uint32_t slot) {
    return field(member_shared(state, slot)->name_ex);
  });
}

MemberSettings read_settings(const proxy_worker_shared& s) {
  MemberSettings m;
  m.lbfactor = s.lbfactor;
  m.lbset = s.lbset;
  m.route = std::string(field(s.route));
  m.redirect = std::string(field(s.redirect));
  m.status = std::atomic_ref<unsigned int>(const_cast<unsigned int&>(s.status)).load() & kAdminBits;
  m.hc_interval_ms = static_cast<std::int64_t>(s.interval / 1000);
  m.hc_passes = s.passes;
  m.hc_fails = s.fails;
  m.hc_method = hc_method_name(s.method);
  m.hc_uri = std::string(field(s.hcuri));
  m.hc_expr = std::string(field(s.hcexpr));
  return m;
}

MemberSettings read_settings(const proxy_worker_shared& s, const MemberCounters& c) {
  return with_own_settings(read_settings(s), c);
}

BalancerSettings read_settings(const proxy_balancer& b) {
  BalancerSettings out;
  out.lbmethod = std::string(field(b.s->lbpname));
  out.timeout_s = static_cast<std::int64_t>(apr_time_sec(b.s->timeout));
  out.max_attempts = b.s->max_attempts;
  out.sticky_force = b.s->sticky_force != 0;
  out.sticky = sticky_text(field(b.s->sticky), field(b.s->sticky_path));
  return out;
}

BalancerSettings read_settings(const proxy_balancer& b, const BalancerCounters& c) {
  return with_own_settings(read_settings(b), c);
}

bool hc_method_known(std::string_view name) {
  return find_hc_method(name) != nullptr;
}

// The schema's ranges (core/config/schema.hpp) keep every value within the int
// fields of mod_proxy's structs.
void write_member(proxy_worker_shared& s, MemberCounters& c, const EditRequest& e) {
  using M = MemberSettings;
  if (auto v = e.value(&M::lbfactor)) s.lbfactor = static_cast<int>(*v);
  if (auto v = e.value(&M::lbset)) s.lbset = static_cast<int>(*v);
  if (auto v = e.value(&M::route)) copy_field(s.route, *v);
  if (auto v = e.value(&M::redirect)) copy_field(s.redirect, *v);
  if (e.status_set != 0) status_ref(&s).fetch_or(e.status_set, std::memory_order_relaxed);
  if (e.status_clear != 0) status_ref(&s).fetch_and(~e.status_clear, std::memory_order_relaxed);
  if (auto v = e.value(&M::hc_interval_ms)) s.interval = apr_time_from_msec(*v);
  if (auto v = e.value(&M::hc_passes)) s.passes = static_cast<int>(*v);
  if (auto v = e.value(&M::hc_fails)) s.fails = static_cast<int>(*v);
  if (auto v = e.value(&M::hc_method)) {
    if (const proxy_hcmethods_t* m = find_hc_method(*v)) s.method = m->method;
  }
  if (auto v = e.value(&M::hc_uri)) copy_field(s.hcuri, *v);
  if (auto v = e.value(&M::hc_expr)) copy_field(s.hcexpr, *v);
  write_own_settings(c, e);
  s.updated = apr_time_now();
}

void write_balancer(proxy_balancer& b, BalancerCounters& counters, const EditRequest& e) {
  using B = BalancerSettings;
  proxy_balancer_shared* s = b.s;
  if (auto v = e.value(&B::lbmethod); v && selector_number(*v) != 0) {
    copy_field(s->lbpname, *v);
    counters.selector.store(selector_number(*v), std::memory_order_release);
  }
  if (auto v = e.value(&B::timeout_s)) s->timeout = apr_time_from_sec(*v);
  if (auto v = e.value(&B::max_attempts)) {
    s->max_attempts = static_cast<int>(*v);
    s->max_attempts_set = 1;
  }
  if (auto v = e.value(&B::sticky_force)) s->sticky_force = *v ? 1 : 0;
  if (auto v = e.value(&B::sticky)) {
    copy_field(s->sticky, sticky_cookie(*v));
    copy_field(s->sticky_path, sticky_path(*v));
  }
  write_own_settings(counters, e);
  s->wupdated = apr_time_now();
}

std::optional<std::uint32_t> add_member(LocalBalancer& lb, const SharedState& state,
                                        const std::string& url, apr_pool_t* scratch,
                                        std::string& why) {
  if (find_member_slot(lb, state, url)) {
    why = "the balancer already has this member";
    return std::nullopt;
  }
  const std::optional<SlotClaim> claim = claim_member_slot(state, lb.slots());
  if (!claim) {
    why = "no free member slot; raise growth= on the balancer (or BalancerGrowth) and restart";
    return std::nullopt;
  }
  const std::uint32_t slot = claim->slot;
  proxy_worker* w = nullptr;
  const char* err = proxy_api().define_worker(scratch, &w, nullptr, nullptr, url.c_str(), 0);
  if (err != nullptr) {
    abandon_claim(state, *claim);
    why = err;
    return std::nullopt;
  }
  PROXY_COPY_CONF_PARAMS(w, lb.conf);
  // mod_proxy marks a member defined outside a balancer "ignore errors"; ours is
  // a balancer member. As stock does, a new member starts disabled.
  w->s->status = (w->s->status & ~PROXY_WORKER_IGNORE_ERRORS) | PROXY_WORKER_DISABLED;
  auto* shm = member_shared(state, slot);
  std::memset(static_cast<void*>(shm), 0, sizeof(proxy_worker_shared));
  proxy_api().share_worker(w, shm, static_cast<int>(slot));
  write_own_settings(state.member(slot), lb.member_defaults.applied(MemberSettings{}));
  activate_member_slot(state, lb.slot, *claim);
  return slot;
}

std::vector<std::vector<FormField>> runtime_edits(const LocalBalancer& lb,
                                                  const SharedState& state) {
  std::vector<MemberSlotView> members(lb.member_slots);
  for (std::uint32_t i = 0; i < lb.member_slots; ++i) {
    const proxy_worker_shared* s = member_shared(state, lb.first_member + i);
    members[i].name = field(s->name_ex);
    members[i].state = slot_state(slot_of(lb, state, i));
    members[i].configured = lb.configured[i] ? &*lb.configured[i] : nullptr;
    members[i].current = read_settings(*s, state.member(lb.first_member + i));
  }
  return isb::runtime_edits(
      field(lb.main->s->name).substr(sizeof(BALANCER_PREFIX) - 1), lb.configured_balancer,
      read_settings(*lb.main, state.balancer(lb.slot)), members, process_state().health_checks);
}

void observe_service(const SharedState& state, std::int64_t now) {
  for (const auto& lb : local_balancers()) {
    if (!lb) continue;
    for (std::uint32_t i = 0; i < lb->member_slots; ++i) {
      if (slot_state(slot_of(*lb, state, i)) != SlotState::kActive) continue;
      const std::uint32_t slot = lb->first_member + i;
      MemberCounters& c = state.member(slot);
      note_service(c, serving(c, status_ref(member_shared(state, slot)).load(), now), now);
    }
  }
}

LocalBalancer* find_local(const proxy_server_conf* conf, std::string_view name) {
  auto* bs = reinterpret_cast<proxy_balancer*>(conf->balancers->elts);
  for (int i = 0; i < conf->balancers->nelts; ++i) {
    if (names_balancer(field(bs[i].s->name), name)) return local_balancer(&bs[i]);
  }
  return nullptr;
}

LocalBalancer* find_local_in_scope(std::string_view scope, std::string_view name,
                                   std::size_t& matches) {
  std::vector<ScopedBalancer> candidates;
  std::vector<LocalBalancer*> owners;
  for (const auto& lb : local_balancers()) {
    if (!lb) continue;
    std::string_view full = field(lb->main->s->name);
    candidates.push_back({lb->scope, full.substr(sizeof(BALANCER_PREFIX) - 1)});
    owners.push_back(lb.get());
  }
  const ScopeMatch found = match_scope(candidates, scope, name);
  matches = found.matches;
  return found.index ? owners[*found.index] : nullptr;
}

namespace {

// Ends the ejection of every active member of `lb` (ejectpercent set to 0),
// noting each in `changes`.
void end_ejections(const LocalBalancer& lb, const SharedState& state,
                   std::vector<std::string>& changes) {
  const std::int64_t now = apr_time_now();
  for (std::uint32_t i = 0; i < lb.member_slots; ++i) {
    if (slot_state(slot_of(lb, state, i)) != SlotState::kActive) continue;
    const std::uint32_t slot = lb.first_member + i;
    MemberCounters& c = state.member(slot);
    if (!is_ejected(c, now)) continue;
    end_ejection(c);
    std::string line = "member ";
    line += field(member_shared(state, slot)->name_ex);
    line += " ejection ended";
    changes.push_back(std::move(line));
  }
}

}  // namespace

ApplyOutcome apply_edit(LocalBalancer& lb, const SharedState& state, const EditRequest& e,
                        apr_pool_t* scratch) {
  ApplyOutcome out;
  auto refuse = [&out](Refusal why) {
    out.refused = std::move(why);
    return out;
  };
  const bool hc = process_state().health_checks;
  const bool member_is_new = edits_added_member(e);
  std::optional<std::uint32_t> member;
  if (e.edits_member() && !member_is_new) member = find_member_slot(lb, state, e.member);
  EditFacts facts;
  facts.member_found = member.has_value();
  facts.added_exists = e.add_member && find_member_slot(lb, state, *e.add_member);
  const auto hc_method = e.value(&MemberSettings::hc_method);
  facts.hc_method_known = hc_method && hc_method_known(*hc_method);
  if (auto no = refuse_edit(e, facts)) return refuse(std::move(*no));

  // The one step that can still fail comes first, so a refusal changes nothing.
  if (e.add_member) {
    std::string why;
    auto slot = add_member(lb, state, *e.add_member, scratch, why);
    if (!slot) return refuse({http::kConflict, "b_nwrkr", why});
    out.changes.push_back("member " + *e.add_member + " added (disabled)");
    if (member_is_new) member = slot;
  }
  CreditReset reset;
  bool rebuild = false;  // what every process indexes changed (routes, weights)
  BalancerCounters& counters = state.balancer(lb.slot);
  if (e.edits_balancer()) {
    BalancerSettings before = read_settings(*lb.main, counters);
    write_balancer(*lb.main, counters, e);
    const BalancerSettings after = read_settings(*lb.main, counters);
    note_balancer_changes(before, after, out.changes, reset);
    if (ends_ejections(before, after)) end_ejections(lb, state, out.changes);
  }
  if (member) {
    proxy_worker_shared* s = member_shared(state, *member);
    const std::string name(field(s->name_ex));
    if (e.remove) {
      remove_member_slot(state, lb.slot, *member);
      out.changes.push_back("member " + name + " removed");
      reset.member_removed = true;
    } else {
      MemberCounters& c = state.member(*member);
      MemberSettings before = read_settings(*s, c);
      // Usable apart from initialisation, which each process does on its own.
      auto usable = [s] { return (status_ref(s).load() & kNotUsable) == 0; };
      // A member added by this very edit was in no one's rotation: enabling it
      // in the same form counts as coming into service, as in stock.
      reset.member_was_in_service = usable() && !member_is_new;
      const std::int64_t now = apr_time_now();
      const bool served_before = serving(c, status_ref(s).load(), now) && !member_is_new;
      write_member(*s, c, e);
      const MemberSettings after = read_settings(*s, c);
      rebuild = note_member_changes(name, before, after, hc, out.changes);
      if (is_ejected(c, now) && ends_ejection(before, after)) {
        end_ejection(c);
        out.changes.push_back("member " + name + " ejection ended");
      }
      reset.member_in_service = usable();
      note_edit(c, served_before, serving(c, status_ref(s).load(), now), now);
    }
  }
  if (reset.needed()) reset_credit(state, lb.slots());
  if (!out.changes.empty()) counters.edits.fetch_add(1, std::memory_order_relaxed);
  // Every process rebuilds its route index and selector state (an add or a
  // removal has moved the version already).
  if (rebuild) counters.members_version.fetch_add(1, std::memory_order_acq_rel);
  return out;
}

}  // namespace isb::httpd

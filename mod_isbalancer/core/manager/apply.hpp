// The rules of applying a validated edit (EditRequest) to a balancer: what is
// refused before anything is written, what the audit log says, and when every
// member's balancing credit starts again. The httpd layer looks up the facts,
// asks these, and writes to mod_proxy's fields in this order: the add (the one
// step that can still fail), the balancer fields, the member fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/manager/manager_edit.hpp"
#include "core/manager/refusal.hpp"
#include "core/shm/member_slots.hpp"

namespace isb {

// What the caller found out about the balancer for this edit.
struct EditFacts {
  bool member_found = false;     // e.member names an active member (when it edits one)
  bool added_exists = false;     // e.add_member names an active member already
  bool hc_method_known = false;  // e.hc_method is one mod_proxy_hcheck implements
};

// Whether the edit adds a member and then edits that same member (stock's add
// form names the new member in `w` as well).
bool edits_added_member(const EditRequest& e);

// Why the edit is refused before anything is written, or nothing:
//   400 `w`       the member it edits is not in the balancer;
//   400 `w_hm`    the health-check method is not one mod_proxy_hcheck has;
//   409 `b_nwrkr` the member it adds is in the balancer already.
std::optional<Refusal> refuse_edit(const EditRequest& e, const EditFacts& facts);

// The audit line of one changed member value: `member URL: field before -> after`,
// with "" for an empty value.
std::string member_change_line(std::string_view member, const FieldChange& c);

// Whether a changed member value is one that each process builds its member
// indexes from (routes and redirects for the route index, weights for selector
// state), so that the member version must move. Status flags are read live and
// need no rebuild.
bool rebuilds_member_indexes(const FieldChange& c);

// Stock's need_reset: every member's credit starts again after the method changes,
// a member is removed, or a member comes (back) into service, which includes a
// member that the same edit adds and enables.
struct CreditReset {
  bool method_changed = false;
  bool member_removed = false;
  bool member_was_in_service = true;  // before the edit (a member it adds was not)
  bool member_in_service = true;      // after it
  bool needed() const noexcept {
    return method_changed || member_removed || (!member_was_in_service && member_in_service);
  }
};

// The audit lines of an edit of a balancer's settings, one per changed value
// ("lbmethod byrequests -> bylatency"), appended to `out`; a changed method is
// noted in `reset`.
void note_balancer_changes(const BalancerSettings& before, const BalancerSettings& after,
                           std::vector<std::string>& out, CreditReset& reset);

// The audit lines of an edit of `member`'s settings (member_change_line),
// appended to `out`. Returns whether one of them rebuilds member indexes.
bool note_member_changes(std::string_view member, const MemberSettings& before,
                         const MemberSettings& after, bool health_checks,
                         std::vector<std::string>& out);

// Whether an edit of a member ends its outlier ejection (health/ejection.hpp):
// the operator turned ejection off for it (every rule's threshold to 0), or put it
// back into service (cleared the last of the flags that kept it out, e.g.
// disabled and enabled it again). An operator who has fixed a node need not
// wait out an ejection of up to ejectmaxtime.
bool ends_ejection(const MemberSettings& before, const MemberSettings& after);

// Whether an edit of a balancer ends the ejections of all its members: it set
// ejectpercent to 0, which allows none.
bool ends_ejections(const BalancerSettings& before, const BalancerSettings& after);

// The active slot (absolute index) of `b` whose member URL means the same as
// `name`, compared as member_key(): the spelling an operator typed
// ("HTTP://Host:80/") finds the member mod_proxy named "http://host".
// `url_of(slot)` gives the URL an absolute slot holds.
template <class UrlOf>
std::optional<std::uint32_t> find_active_member(const SharedState& state, const BalancerSlots& b,
                                                std::string_view name, UrlOf url_of) {
  const std::string want = member_key(name);
  for (std::uint32_t i = 0; i < b.count; ++i) {
    const std::uint32_t slot = b.first + i;
    if (slot_state(state.member(slot).slot.load(std::memory_order_acquire)) != SlotState::kActive) {
      continue;
    }
    if (member_key(url_of(slot)) == want) return slot;
  }
  return std::nullopt;
}

}  // namespace isb

// What the snapshot the balancer-manager shows (manager_model.hpp) takes from
// the core's own structs: the counters of the shared segment, and the
// configuration each balancer and member started from. The httpd layer reads
// mod_proxy's structs and calls these.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/manager/manager_model.hpp"
#include "core/shm/member_slots.hpp"
#include "core/shm/shared_state.hpp"

namespace isb {

// A member's figures at `now_us` from its counters: in flight, elected, credit,
// sticky hits, faults, latency, slow start's weight now and time in service, and
// the ejection state (an ejection that has ended reads as none).
// `m.weight` (the configured loadfactor) is read first: slow start scales it.
void read_counters(const MemberCounters& c, std::int64_t now_us, MemberSnapshot& m);

// A balancer's figures from its counters: 503s given, edits applied, the retry
// budget's requests and failovers.
void read_counters(const BalancerCounters& c, BalancerSnapshot& b);

// What the page says of member `m` against the configuration: `slot` is its
// member slot relative to the balancer's first, `configured` the balancer's
// configured settings per slot (nullopt for a growth slot). A member in a slot
// with no configured settings was added at run time; any other shows the values
// that differ from its configuration (`m.settings` read first).
void compare_with_configuration(MemberSnapshot& m,
                                std::span<const std::optional<MemberSettings>> configured,
                                std::uint32_t slot, bool health_checks);

// The slots (relative to the balancer's first) of configured members that were
// removed at run time, in slot order: the page lists them so that they can be
// added back.
std::vector<std::uint32_t> removed_configured(const SharedState& state, const BalancerSlots& b);

}  // namespace isb

// Which member slot of a balancer takes a member added at run time, and how a
// slot moves through its life (SlotState in shared_state.hpp):
//
//   free --claim--> claimed --activate--> active --remove--> removed
//                      \--abandon--> (back as it was)       removed --claim--> claimed
//
// A balancer owns the slots [first, first + count) of the segment. The slots of
// configured members are never handed out again, even once removed: a restart
// shares them with the same members. An add takes a never-used slot first, then
// the slot of a removed member with no request in flight on it.
//
// Concurrency contract: claim is a compare-and-swap on the slot word, so two
// processes adding at once never get the same slot. Activation and removal are
// done by the one process that holds the balancer's edit lock; readers see them
// through the balancer's members_version, which both bump.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/shm/shared_state.hpp"

namespace isb {

struct BalancerSlots {
  std::uint32_t balancer = 0;  // the balancer's slot
  std::uint32_t first = 0;     // its first member slot
  // Per member slot, relative to `first`: 1 when a configured member owns it.
  // Slots past its end are growth slots.
  std::span<const std::uint8_t> configured;
  std::uint32_t count = 0;  // member slots: configured members + growth
};

// A slot taken by claim_member_slot: its absolute index and the word it had.
struct SlotClaim {
  std::uint32_t slot = 0;
  std::uint64_t previous = 0;
};

// Whether relative slot `i` of `b` can take a new member now.
bool slot_takes_new_member(const SharedState& state, const BalancerSlots& b,
                           std::uint32_t i) noexcept;

// How many slots of `b` can take a new member now (what the manager offers).
std::uint32_t free_member_slots(const SharedState& state, const BalancerSlots& b) noexcept;

// Claims a slot for a new member: never-used slots first, then removed ones with
// nothing in flight. Nothing when there is none.
std::optional<SlotClaim> claim_member_slot(const SharedState& state,
                                           const BalancerSlots& b) noexcept;

// Gives a claimed slot back as it was (the member could not be defined).
void abandon_claim(const SharedState& state, const SlotClaim& claim) noexcept;

// The claimed slot now holds a member: its counters start from zero, it becomes
// active in a new incarnation, and every process rebuilds its member list.
void activate_member_slot(const SharedState& state, std::uint32_t balancer,
                          const SlotClaim& claim) noexcept;

// Marks an active member's slot removed; processes drop it at their next request.
// Returns false when the slot was not active.
bool remove_member_slot(const SharedState& state, std::uint32_t balancer,
                        std::uint32_t slot) noexcept;

// Stock's need_reset: after a member comes back or the method changes, every
// member starts from the same balancing credit.
void reset_credit(const SharedState& state, const BalancerSlots& b) noexcept;

// What a process does with its own handle of a member slot (its connection
// pool, the httpd layer's proxy_worker) when it brings its member list up to
// date with the slot's word.
enum class LocalSlot : std::uint8_t {
  kLeaveOut,  // not active: not in the list
  kKeep,      // the handle it has fits
  kReuse,     // the same URL came back in a new incarnation: keep the handle, note that
  kMake,      // no handle yet, or one for an earlier member: make one
};

// `known`: whether the process has a handle for the slot, made for `incarnation`
// and the URL `known_name`; `name`: the URL the slot holds now.
LocalSlot local_slot_action(std::uint64_t word, bool known, std::uint64_t incarnation,
                            std::string_view known_name, std::string_view name) noexcept;

}  // namespace isb

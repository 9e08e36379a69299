// The shared segment across configuration generations: how large it is made,
// whether a graceful restart keeps the previous one, what a fresh one starts
// with, and which busy-ledger rows belong to processes that are gone.
//
// A graceful restart keeps the previous segment only when the new configuration
// would fill it the same way: the same geometry and the same configuration
// fingerprint (config/inventory.hpp). Counters and runtime edits then survive;
// otherwise the segment is made afresh and saved edits are replayed on it
// (persist/replay.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/shm/shared_state.hpp"

namespace isb {

// Ledger rows (busy and retry-budget counts): one per child that can be alive at once.
// Old-generation children finishing after a graceful restart and a killed child not yet reclaimed
// can overlap with the children of the MPM's limit, hence twice it and a margin.
// `hard_limit` is the MPM's limit on child processes, if it tells one; at most
// kMaxProcessRows.
std::uint32_t process_rows(std::optional<int> hard_limit) noexcept;

// The bytes to map for a segment of `bytes`, so that a 64-byte aligned start fits
// in the mapping, and that start.
constexpr std::size_t mapping_bytes(std::size_t bytes) noexcept {
  return bytes + kSlotAlign;
}
void* aligned_start(void* mapping) noexcept;

struct KeptSegment {
  SharedState state;
  std::uint64_t generation = 0;  // the new generation's number (1 or more)
};

// The previous generation's segment at `mem`, kept when it is a valid segment of
// `geometry` whose slots were filled from the configuration with `fingerprint`:
// its balancers take edits again (an edit refused while the restart closed
// them would not be lost now) and its generation moves on. Nothing: the caller
// makes a fresh segment.
std::optional<KeptSegment> keep_segment(void* mem, std::size_t size,
                                        const SegmentGeometry& geometry,
                                        std::uint64_t fingerprint) noexcept;

// A segment just made, which no generation has used yet: it starts from the
// configuration (fresh nonces, saved edits replayed).
inline bool fresh_segment(const SharedState& state) noexcept {
  return state.header().generation.load() == 0;
}

// The member slot of a configured member, as the generation starts: a fresh
// segment makes it active in its first incarnation; a kept one leaves it as the
// previous generation left it (re-added or removed at run time). Returns the
// slot's incarnation.
std::uint64_t take_configured_slot(const SharedState& state, std::uint32_t member,
                                   bool fresh) noexcept;

// Whether process `pid` may still hold ledger counts: alive, or not yet reaped by
// the MPM (a zombie still answers), or not ours to signal. A reaped child is not.
// Pid reuse by an unrelated process only delays the reclaim until that process
// exits.
bool process_alive(std::int64_t pid) noexcept;

}  // namespace isb

// The shared-memory segment that every child process of one httpd instance maps.
//
// Layout (all offsets from the segment base, every block 64-byte aligned):
//
//   +--------------------------------------------+ 0
//   | SegmentHeader                              |   magic, layout version, sizes,
//   |                                            |   capacities, config fingerprint,
//   |                                            |   generation
//   +--------------------------------------------+ header_bytes()
//   | balancer slot 0 | BalancerCounters | host  |   host = balancer_host_bytes, the
//   | balancer slot 1 ...                        |   httpd layer's proxy_balancer_shared;
//   +--------------------------------------------+   the counters end in a policy region
//   | member slot 0   | MemberCounters   | host  |   host = member_host_bytes, the
//   | member slot 1 ...                          |   httpd layer's proxy_worker_shared;
//   |                                            |   the counters end in a policy region
//   +--------------------------------------------+
//   | process row 0 | ProcessRow | held         |   the ledger: which process holds
//   |   [member_capacity] | BudgetHeld           |   how many of each member's busy
//   |   [balancer_capacity]                      |   count and of each balancer's
//   | process row 1 ...                          |   in_flight and retries_in_flight
//   +--------------------------------------------+ total_bytes()
//
// Slots are addressed by index, never by pointer: each process may map the segment
// at a different address. The core never looks inside a host area; it only hands
// out its address.
//
// Concurrency contract: counters are lock-free std::atomic and may be updated by any
// thread of any process at any time. The header is written once, by the parent,
// before any child exists; after that only `generation` changes.
//
// The ledger: `busy` is raised when a request is sent to a member and lowered when
// the request ends, and so are a balancer's retry-budget counts, `in_flight` from a
// request's first pick and `retries_in_flight` from its first failover let through
// (policy/retry_budget.hpp). A child killed mid-request (kill -9, the OOM killer, a
// crash) never lowers them: a busy count that stays up for good skews bybusyness
// and the manager, a leaked retries_in_flight makes the budget stricter for the
// rest of the segment's life (after `retryfloor` of them at low traffic, every
// failover is refused) and a leaked in_flight loosens it. So each child process
// claims a row (claim_process_row) and records in it, per member, the busy counts
// it holds and, per balancer, its in_flight and retries_in_flight counts; a row
// whose owner died is given back by the parent (reclaim_dead_rows), and a child
// that exits normally releases its own row. Only the owner writes its row's held
// counts, and a row is reclaimed only once its owner is dead, so owner and
// reclaimer never race on them. Every count is raised in the shared counter first,
// then in the row, and lowered in the row first, then in the shared counter: a
// process killed between the two leaves at most one count up (not reclaimed),
// and a reclaim never gives back more than was added, so no counter goes below
// what the live processes hold.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace isb {

inline constexpr std::size_t kSlotAlign = 64;
inline constexpr std::uint64_t kSegmentMagic = 0x3130'4D48'5342'5349ULL;  // "ISBSHM01"
inline constexpr std::uint32_t kLayoutVersion = 5;
// Ledger rows are bounded whatever the MPM's process limit: a process without a
// row still counts busy, it is only not reclaimed if it dies mid-request.
inline constexpr std::uint32_t kMaxProcessRows = 4096;

// Per-member runtime counters shared by every child.
struct alignas(kSlotAlign) MemberCounters {
  // Smooth-weighted-round-robin credit (byrequests, and the bybusyness tie-break).
  std::atomic<std::int64_t> lbstatus{0};
  // Requests in flight on this member, across all children.
  std::atomic<std::int64_t> busy{0};
  // Times the member was chosen (balanced or sticky).
  std::atomic<std::uint64_t> elected{0};
  // Of those, times it was chosen because the request carried its route.
  std::atomic<std::uint64_t> sticky{0};
  // Times this module put the member into error (failonstatus, failontimeout).
  std::atomic<std::uint64_t> faults{0};
  // Whether the slot holds a member: see slot_word() below.
  std::atomic<std::uint64_t> slot{0};
  // Time from the pick to the end of the proxied exchange, in µs: an
  // exponentially weighted moving average (weight 1/8), and sum and count.
  std::atomic<std::int64_t> latency_ewma_us{0};
  std::atomic<std::uint64_t> latency_sum_us{0};
  std::atomic<std::uint64_t> latency_count{0};
  // The latency estimate bylatency ranks by (see latency_estimate_us()): a peak-
  // sensitive EWMA in µs, and when it was last written (µs, the caller's clock).
  std::atomic<std::int64_t> peak_latency_us{0};
  std::atomic<std::int64_t> peak_stamp_us{0};

  // --- The member's policy region: what the protections keep per member,
  // beside the counters above.
  // Slow start (health/slow_start.hpp): the member's window in µs (0: off; an own
  // setting, written from the configuration and by manager edits), and since
  // when it has been in service: 0 for as long as this segment has existed,
  // kOutOfService while it is not usable.
  std::atomic<std::int64_t> slowstart_us{0};
  std::atomic<std::int64_t> in_service_since_us{0};
  // Outlier ejection (health/ejection.hpp). Read by every pick: until when the
  // member is ejected (µs; 0: it is not). Same cache line as the two above.
  std::atomic<std::int64_t> ejected_until_us{0};
  // Times it was ejected since the segment was made.
  std::atomic<std::uint64_t> ejections{0};
  // The backoff level its next ejection starts from, and when the level last
  // went up (µs); the level decays while the member stays in.
  std::atomic<std::int64_t> eject_level{0};
  // --- second half: written per response, read by ejection decisions.
  std::atomic<std::int64_t> eject_level_stamp_us{0};
  // Consecutive 5xx answers, and consecutive gateway failures (no answer from
  // the member: connect error, reset, timeout), across every child.
  std::atomic<std::uint64_t> consecutive_5xx{0};
  std::atomic<std::uint64_t> consecutive_gateway{0};
  // The ejection settings (own settings, as slowstart_us): the thresholds (0:
  // off), the base and the longest ejection in µs, and whether the sessions of
  // an ejected member keep going to it (1) or fail over (0).
  std::atomic<std::int64_t> eject_5xx{0};
  std::atomic<std::int64_t> eject_gateway{0};
  std::atomic<std::int64_t> eject_time_us{0};
  std::atomic<std::int64_t> eject_max_us{0};
  std::atomic<std::int64_t> eject_sessions{0};
  // Times a threshold was reached but ejectpercent kept the member in.
  std::atomic<std::uint64_t> ejections_capped{0};
  // Slow start: 1 when the member ramps at httpd's start too (an own setting).
  std::atomic<std::int64_t> slowstart_at_start{0};
  // Outlier ejection's failure-rate rule: its settings (the share of 5xx
  // answers in percent that ejects, 0: off; the answers it averages over, and
  // the fewest it judges), the answers since it started counting, and the
  // moving share of 5xx among them, in millionths.
  std::atomic<std::int64_t> eject_fail_percent{0};
  std::atomic<std::int64_t> eject_min_requests{0};
  std::atomic<std::uint64_t> rate_answers{0};
  std::atomic<std::int64_t> fail_rate_ppm{0};
  // Room for live sessions without another layout change. Zero until used.
  std::atomic<std::uint64_t> reserved[10]{};
};

// A member slot's life: free (never used, or a removed member's slot given back),
// claimed (an add is filling it), active (a member of its balancer), removed.
// The incarnation counts how often the slot was (re)filled, so a process can tell
// a new member in an old slot from the one it knew.
enum class SlotState : std::uint64_t { kFree = 0, kClaimed = 1, kActive = 2, kRemoved = 3 };

constexpr std::uint64_t slot_word(SlotState state, std::uint64_t incarnation) noexcept {
  return incarnation << 2 | static_cast<std::uint64_t>(state);
}
constexpr SlotState slot_state(std::uint64_t word) noexcept {
  return static_cast<SlotState>(word & 3);
}
constexpr std::uint64_t slot_incarnation(std::uint64_t word) noexcept {
  return word >> 2;
}

// Per-balancer runtime counters shared by every child.
struct alignas(kSlotAlign) BalancerCounters {
  // Requests that found no usable member and got 503.
  std::atomic<std::uint64_t> unavailable{0};
  // Bumped after every change to the set of members (add, remove) and to a
  // member's route, redirect or weight (manager/apply.hpp); each process rebuilds
  // its member list, route index and selector state when it sees a new value.
  std::atomic<std::uint64_t> members_version{0};
  // The balancer's selector, as an index into selector_names() plus one; 0 means
  // "as configured". Written by balancer-manager edits, read per request.
  std::atomic<std::uint32_t> selector{0};
  // The PID of the process applying an edit to this balancer, or 0.
  std::atomic<std::int32_t> edit_owner{0};
  // Edits applied since the segment was created.
  std::atomic<std::uint64_t> edits{0};
  // This balancer's member slots: [first_member, first_member + member_slots).
  // Written once by the parent before any child exists.
  std::uint32_t first_member = 0;
  std::uint32_t member_slots = 0;
  // 1 once the parent has collected this generation's edits (a restart is under
  // way): an edit that comes later would be lost with the generation, so it is
  // refused. Written under the edit lock (edit_lock.hpp); 0 again when a
  // graceful restart keeps the segment.
  std::atomic<std::uint64_t> closed{0};
  // --- The balancer's policy region.
  // Outlier ejection (health/ejection.hpp): the most members, in percent, that
  // may be out (ejected, or down for any other reason) for an ejection to go
  // ahead (an own setting), and since when (µs) one process has been deciding
  // an ejection, or 0.
  std::atomic<std::int64_t> eject_percent{0};
  std::atomic<std::int64_t> eject_lock_us{0};
  // The retry budget (policy/retry_budget.hpp): requests in flight on the
  // balancer, and of those, the ones on a failover attempt; failovers let
  // through and refused (budget spent; a body that cannot be sent again); the
  // budget's settings (own settings): percent of requests in flight, and the
  // floor.
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> retries_in_flight{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> retries_refused{0};
  std::atomic<std::uint64_t> unsafe_retries_refused{0};
  std::atomic<std::int64_t> retry_budget_percent{0};
  std::atomic<std::int64_t> retry_budget_floor{0};
  // Room for a hash method's table generation and the like. Zero until used.
  std::atomic<std::uint64_t> reserved[9]{};
};

static_assert(std::atomic<std::int64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(sizeof(MemberCounters) == 5 * kSlotAlign);
static_assert(offsetof(MemberCounters, ejected_until_us) / kSlotAlign ==
              offsetof(MemberCounters, in_service_since_us) / kSlotAlign);

// MemberCounters::in_service_since_us of a member that is not in service.
inline constexpr std::int64_t kOutOfService = -1;

// The half-life of the peak estimate while a member gets no samples: after a
// quarter of a second without an answer, a member looks half as slow as it did.
inline constexpr std::int64_t kPeakHalfLifeUs = 250'000;

// The member's peak estimate at `now_us`, decayed towards zero for the time since
// it was last written, so that a member every picker avoids because it was slow
// is tried again after a while (about 1 s for 20 ms against 1 ms), and a member
// that recovered earns its traffic back from that one sample. 0: no sample yet.
std::int64_t latency_estimate_us(const MemberCounters& c, std::int64_t now_us) noexcept;

// Folds one latency sample, taken at `now_us`, into the member's figures: the
// EWMA shown to operators (weight 1/8), sum and count, and the peak estimate, which
// jumps to any sample above its decayed value and otherwise moves 1/8 of the way.
void record_latency(MemberCounters& c, std::int64_t sample_us, std::int64_t now_us) noexcept;
static_assert(sizeof(BalancerCounters) == 3 * kSlotAlign);

// The head of one ledger row; `member_capacity` std::atomic<std::int32_t> held busy
// counts follow it, then `balancer_capacity` BudgetHeld.
struct alignas(kSlotAlign) ProcessRow {
  // PID of the process that owns the row; 0: free.
  std::atomic<std::int64_t> owner{0};
  std::atomic<std::uint64_t> reserved[7]{};
};
static_assert(sizeof(ProcessRow) == kSlotAlign);
static_assert(std::atomic<std::int32_t>::is_always_lock_free);

// One balancer's retry-budget counts held by the process that owns a ledger row:
// its share of BalancerCounters::in_flight and ::retries_in_flight.
struct BudgetHeld {
  std::atomic<std::int32_t> in_flight{0};
  std::atomic<std::int32_t> retries_in_flight{0};
};
static_assert(sizeof(BudgetHeld) == 2 * sizeof(std::int32_t));
static_assert(alignof(BudgetHeld) <= alignof(std::atomic<std::int32_t>));

// What reclaim_dead_rows gave back, summed over every member or balancer.
struct Reclaimed {
  std::int64_t busy = 0;
  std::int64_t in_flight = 0;
  std::int64_t retries_in_flight = 0;
  bool any() const noexcept { return busy != 0 || in_flight != 0 || retries_in_flight != 0; }
};

// One busy count taken for one request; give it back with SharedState::release_busy.
struct BusyTicket {
  MemberCounters* counters;
  std::atomic<std::int32_t>* held;  // nullptr: the process has no ledger row
};

struct SegmentGeometry {
  std::uint32_t balancer_capacity = 0;
  std::uint32_t member_capacity = 0;
  std::uint32_t balancer_host_bytes = 0;
  std::uint32_t member_host_bytes = 0;
  // Ledger rows: enough for every process that can be alive at once.
  std::uint32_t process_capacity = 0;

  bool operator==(const SegmentGeometry&) const = default;
};

struct alignas(kSlotAlign) SegmentHeader {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t header_bytes;
  std::uint64_t total_bytes;
  SegmentGeometry geometry;
  std::uint32_t balancer_slot_bytes;
  std::uint32_t member_slot_bytes;
  std::uint32_t process_row_bytes;
  // Identifies the configuration the slots were filled from; a graceful restart
  // keeps the segment only when this is unchanged.
  std::uint64_t config_fingerprint;
  // Bumped each time a new httpd generation re-attaches.
  std::atomic<std::uint64_t> generation;
};

class SharedState {
 public:
  // Bytes a segment of this geometry needs, or nothing if the sizes overflow.
  static std::optional<std::size_t> bytes_needed(const SegmentGeometry& g) noexcept;

  // Formats `mem` (zeroed by the caller or not) as a fresh segment.
  // Fails when `size` is smaller than bytes_needed(g) or `mem` is misaligned.
  static std::optional<SharedState> create(void* mem, std::size_t size, const SegmentGeometry& g,
                                           std::uint64_t config_fingerprint) noexcept;

  // Validates an existing segment and returns a view of it. `why` says what did not
  // match when it fails.
  static std::optional<SharedState> attach(void* mem, std::size_t size, std::string* why) noexcept;

  SegmentHeader& header() const noexcept { return *static_cast<SegmentHeader*>(base_); }
  const SegmentGeometry& geometry() const noexcept { return header().geometry; }

  MemberCounters& member(std::uint32_t i) const noexcept {
    return *reinterpret_cast<MemberCounters*>(member_slot(i));
  }
  void* member_host(std::uint32_t i) const noexcept {
    return member_slot(i) + sizeof(MemberCounters);
  }
  BalancerCounters& balancer(std::uint32_t i) const noexcept {
    return *reinterpret_cast<BalancerCounters*>(balancer_slot(i));
  }
  void* balancer_host(std::uint32_t i) const noexcept {
    return balancer_slot(i) + sizeof(BalancerCounters);
  }

  // The ledger (see the top of this file). Claims a free row for process `pid`;
  // nothing when every row is taken or `pid` is not positive.
  std::optional<std::uint32_t> claim_process_row(std::int64_t pid) const noexcept;
  // The owner leaves: whatever it still holds goes back, then the row is free.
  void release_process_row(std::uint32_t row) const noexcept;
  // Gives back the rows of owners that `alive` says are gone; returns the counts
  // given back. Run by one process at a time (httpd's parent).
  Reclaimed reclaim_dead_rows(bool (*alive)(std::int64_t pid)) const noexcept;
  ProcessRow& process_row(std::uint32_t row) const noexcept {
    return *reinterpret_cast<ProcessRow*>(process_row_at(row));
  }
  std::atomic<std::int32_t>& held(std::uint32_t row, std::uint32_t member) const noexcept {
    return reinterpret_cast<std::atomic<std::int32_t>*>(process_row_at(row) +
                                                        sizeof(ProcessRow))[member];
  }
  BudgetHeld& budget_held(std::uint32_t row, std::uint32_t balancer) const noexcept {
    return reinterpret_cast<BudgetHeld*>(process_row_at(row) + sizeof(ProcessRow) +
                                         std::size_t{geometry().member_capacity} *
                                             sizeof(std::atomic<std::int32_t>))[balancer];
  }
  // Where a request of this process records its retry-budget counts on
  // `balancer`: nullptr when the process has no row (it counts all the same,
  // only unreclaimed). Pass it to the functions of policy/retry_budget.hpp.
  BudgetHeld* budget_held(std::optional<std::uint32_t> row, std::uint32_t balancer) const noexcept {
    return row ? &budget_held(*row, balancer) : nullptr;
  }

  // One request in flight on `member`, recorded in `row` when there is one.
  BusyTicket acquire_busy(std::optional<std::uint32_t> row, std::uint32_t member) const noexcept {
    BusyTicket t{&this->member(member), row ? &held(*row, member) : nullptr};
    // busy first, then held: a process killed between the two leaves at most one
    // count up, and a reclaim never takes back more than was added.
    t.counters->busy.fetch_add(1, std::memory_order_relaxed);
    if (t.held) t.held->fetch_add(1, std::memory_order_relaxed);
    return t;
  }
  static void release_busy(const BusyTicket& t) noexcept {
    if (t.held) t.held->fetch_sub(1, std::memory_order_relaxed);
    t.counters->busy.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  explicit SharedState(void* base) noexcept : base_(base) {}
  // Inline: these run several times per request.
  std::byte* balancer_slot(std::uint32_t i) const noexcept {
    const SegmentHeader& h = header();
    return static_cast<std::byte*>(base_) + h.header_bytes + std::size_t{i} * h.balancer_slot_bytes;
  }
  std::byte* member_slot(std::uint32_t i) const noexcept {
    const SegmentHeader& h = header();
    return static_cast<std::byte*>(base_) + h.header_bytes +
           std::size_t{h.geometry.balancer_capacity} * h.balancer_slot_bytes +
           std::size_t{i} * h.member_slot_bytes;
  }
  std::byte* process_row_at(std::uint32_t row) const noexcept {
    const SegmentHeader& h = header();
    return member_slot(h.geometry.member_capacity) + std::size_t{row} * h.process_row_bytes;
  }

  void* base_;
};

}  // namespace isb

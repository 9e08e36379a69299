// The segment across generations (core/shm/generation.hpp): its busy-ledger size,
// when a graceful restart keeps it, what a fresh one starts with, and which
// ledger owners are gone.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/shm/generation.hpp"

using namespace isb;

namespace {

const SegmentGeometry kGeometry{2, 4, 128, 256, 8};
constexpr std::uint64_t kFingerprint = 0x1234'5678'9abc'def0ULL;

// Heap memory stands in for the mapping: keep_segment only reads and writes it.
struct Memory {
  std::vector<unsigned char> bytes;
  void* start = nullptr;
  std::size_t size = 0;
  explicit Memory(std::size_t n) : bytes(mapping_bytes(n)), size(n) {
    start = aligned_start(bytes.data());
  }
};

}  // namespace

TEST_CASE("generation: ledger rows are twice the MPM's limit and a margin, bounded", "[shm]") {
  CHECK(process_rows(150) == 316);
  CHECK(process_rows(1) == 18);
  // The MPM does not say, or says nonsense: as for 16 processes.
  CHECK(process_rows(std::nullopt) == 48);
  CHECK(process_rows(0) == 48);
  CHECK(process_rows(-3) == 48);
  CHECK(process_rows(100000) == kMaxProcessRows);
  CHECK(process_rows(2147483647) == kMaxProcessRows);
}

TEST_CASE("generation: the mapping fits an aligned start", "[shm]") {
  CHECK(mapping_bytes(1000) == 1000 + kSlotAlign);
  for (std::uintptr_t offset = 0; offset < 2 * kSlotAlign; ++offset) {
    auto* mapping = reinterpret_cast<void*>(0x10000 + offset);
    const auto start = reinterpret_cast<std::uintptr_t>(aligned_start(mapping));
    CHECK(start % kSlotAlign == 0);
    CHECK(start >= 0x10000 + offset);
    CHECK(start - (0x10000 + offset) < kSlotAlign);
  }
}

TEST_CASE("generation: an unchanged configuration keeps the segment", "[shm]") {
  Memory m(*SharedState::bytes_needed(kGeometry));
  auto made = SharedState::create(m.start, m.size, kGeometry, kFingerprint);
  REQUIRE(made);
  CHECK(fresh_segment(*made));
  made->member(1).busy.store(3);
  made->balancer(0).closed.store(1);  // the old generation closed its balancers
  made->balancer(1).closed.store(1);

  auto kept = keep_segment(m.start, m.size, kGeometry, kFingerprint);
  REQUIRE(kept);
  CHECK(kept->generation == 1);
  CHECK_FALSE(fresh_segment(kept->state));
  CHECK(kept->state.member(1).busy.load() == 3);      // counters survive
  CHECK(kept->state.balancer(0).closed.load() == 0);  // edits are taken again
  CHECK(kept->state.balancer(1).closed.load() == 0);
  auto again = keep_segment(m.start, m.size, kGeometry, kFingerprint);
  REQUIRE(again);
  CHECK(again->generation == 2);
}

TEST_CASE("generation: a changed configuration or geometry gets a fresh segment", "[shm]") {
  Memory m(*SharedState::bytes_needed(kGeometry));
  REQUIRE(SharedState::create(m.start, m.size, kGeometry, kFingerprint));
  CHECK_FALSE(keep_segment(m.start, m.size, kGeometry, kFingerprint + 1));
  SegmentGeometry more_rows = kGeometry;
  more_rows.process_capacity = 16;
  CHECK_FALSE(keep_segment(m.start, m.size, more_rows, kFingerprint));
  SegmentGeometry more_members = kGeometry;
  more_members.member_capacity = 5;
  CHECK_FALSE(keep_segment(m.start, m.size, more_members, kFingerprint));
  // Neither refusal moved the generation or opened anything.
  auto kept = keep_segment(m.start, m.size, kGeometry, kFingerprint);
  REQUIRE(kept);
  CHECK(kept->generation == 1);
  // Memory that is no segment at all is never kept.
  Memory junk(*SharedState::bytes_needed(kGeometry));
  CHECK_FALSE(keep_segment(junk.start, junk.size, kGeometry, kFingerprint));
}

TEST_CASE("generation: a fresh segment activates configured members, a kept one not", "[shm]") {
  Memory m(*SharedState::bytes_needed(kGeometry));
  auto state = SharedState::create(m.start, m.size, kGeometry, kFingerprint);
  REQUIRE(state);
  CHECK(take_configured_slot(*state, 0, true) == 1);
  CHECK(state->member(0).slot.load() == slot_word(SlotState::kActive, 1));
  // A kept segment: a member removed at run time stays removed, a re-added one
  // keeps its incarnation.
  state->member(1).slot.store(slot_word(SlotState::kRemoved, 1));
  state->member(2).slot.store(slot_word(SlotState::kActive, 3));
  CHECK(take_configured_slot(*state, 1, false) == 1);
  CHECK(state->member(1).slot.load() == slot_word(SlotState::kRemoved, 1));
  CHECK(take_configured_slot(*state, 2, false) == 3);
  CHECK(state->member(2).slot.load() == slot_word(SlotState::kActive, 3));
}

TEST_CASE("generation: a ledger owner is gone once reaped, not before", "[shm]") {
  CHECK(process_alive(getpid()));
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(0);
  // Exited but not reaped (WNOWAIT leaves it a zombie): it may still hold counts
  // that the MPM has not seen go, and kill(pid, 0) still answers for it.
  siginfo_t info{};
  REQUIRE(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) == 0);
  CHECK(process_alive(child));
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK_FALSE(process_alive(child));
}

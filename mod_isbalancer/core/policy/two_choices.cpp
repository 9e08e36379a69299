#include "core/policy/two_choices.hpp"

#include <chrono>
#include <random>

namespace isb {
namespace {

// splitmix64: one 64-bit state per thread, seeded from the OS once. Plenty for
// spreading picks, and no lock or shared cache line between pickers.
std::uint64_t initial_seed() noexcept {
  std::uint64_t seed =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  try {
    std::random_device device;
    seed ^= (static_cast<std::uint64_t>(device()) << 32) ^ device();
  } catch (...) {
    // No entropy source: the clock and the thread's own address still differ.
  }
  return seed;
}

thread_local std::uint64_t t_random_state = 0;

}  // namespace

std::uint64_t next_random() noexcept {
  if (t_random_state == 0) {
    t_random_state = initial_seed() ^ reinterpret_cast<std::uintptr_t>(&t_random_state);
  }
  std::uint64_t z = (t_random_state += 0x9E37'79B9'7F4A'7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
  return z ^ (z >> 31);
}

void seed_selector_random(std::uint64_t seed) noexcept {
  t_random_state = seed != 0 ? seed : 1;
}

}  // namespace isb

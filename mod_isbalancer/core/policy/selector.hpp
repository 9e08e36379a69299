// The selector interface: one load-balancing method per file (selector_*.cpp),
// chosen by name through make_selector().
//
// A selector sees only the candidates the eligibility pass (eligibility.hpp)
// left: usable members of the first lbset that has any, spares standing in for
// unusable members, or the hot standbys. It never decides who may be picked, only
// which of them is.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/shm/shared_state.hpp"

namespace isb {

struct Candidate {
  std::uint32_t index;       // position in the balancer's member table
  std::int64_t weight;       // loadfactor as mod_proxy stores it (100 = 1.0)
  std::uint64_t traffic;     // bytes in + out so far
  MemberCounters* counters;  // shared counters of this member
};

class Selector {
 public:
  virtual ~Selector() = default;
  // Returns the position in `candidates` of the chosen member. `now_us` is the
  // request's time (µs, the same clock as record_latency's).
  // Contract: `candidates` is not empty. Thread- and process-safe: only atomic
  // updates of the candidates' counters.
  virtual std::size_t pick(std::span<const Candidate> candidates,
                           std::int64_t now_us) const noexcept = 0;
};

// How many selectors there are: the registry's one list of names (selector.cpp)
// has this many entries.
inline constexpr std::size_t kSelectorCount = 5;

// The selector registered under `name` ("byrequests", "bybusyness", "bytraffic",
// "leastrequest", "bylatency"), or nullptr. The returned objects are stateless
// singletons.
const Selector* find_selector(std::string_view name) noexcept;

// Every selector name, for documentation, error messages and the lbmethod
// providers the httpd layer registers. Each is a NUL-terminated literal.
std::span<const std::string_view> selector_names() noexcept;

// The selector named selector_names()[index], or nullptr past the end. Lets shared
// memory name a selector by a small number.
const Selector* selector_at(std::size_t index) noexcept;

// Reseeds the calling thread's random source (leastrequest, bylatency), so that a
// test can replay the same picks. Threads seed themselves from the OS otherwise.
void seed_selector_random(std::uint64_t seed) noexcept;

}  // namespace isb

// The selector interface: one load-balancing method per file (selector_*.cpp),
// found by name through find_selector().
//
// A selector sees only the candidates the eligibility pass (routing/eligibility.hpp)
// left: usable members of the first lbset that has any, spares standing in for
// unusable members, or the hot standbys. It never decides who may be picked, only
// which of them is.
//
// What a method may use, beyond the candidates' shared counters:
//   - per-process state of its own (a lookup table, a ring), built by
//     build_state() from every member of the balancer whenever the members or
//     their weights change, and handed back with each pick (state_cache.hpp);
//   - the request: its time, its key (for methods that map a request to a
//     member) and which attempt this is (0 first, then one per failover);
//   - the result of each attempt, through result(), after the response.
// Candidate::weight is the member's effective weight: the place where a weight
// that changes over time (slow start) reaches every method alike.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/shm/shared_state.hpp"

namespace isb {

struct Candidate {
  std::uint32_t index;       // position in the balancer's member table
  std::int64_t weight;       // effective loadfactor, as mod_proxy stores it (100 = 1.0)
  std::uint64_t traffic;     // bytes in + out so far
  MemberCounters* counters;  // shared counters of this member
  // The configured loadfactor while slow start holds `weight` below it; 0 when
  // `weight` is the configured one. For methods that rank by something other
  // than the weight (bybusyness) and must still ramp.
  std::int64_t ramping_from = 0;
};

// A method's per-process state for one balancer (see build_state). Immutable
// once built: picks on many threads read it without a lock.
class SelectorState {
 public:
  virtual ~SelectorState() = default;
};

struct PickContext {
  std::int64_t now_us = 0;               // the request's time (µs, record_latency's clock)
  std::optional<std::uint64_t> key;      // the request's hash key, for methods that map keys
  std::uint32_t attempt = 0;             // 0: the request's first try; n: its n-th failover
  const SelectorState* state = nullptr;  // build_state()'s, for this balancer; may be null
};

// How one attempt ended, for result().
struct AttemptResult {
  std::int64_t latency_us = 0;  // from the pick to the end of the exchange
  int status = 0;               // the status sent to the client
  bool fault = false;           // passive health put the member into error
  std::int64_t now_us = 0;
};

class Selector {
 public:
  // What a method uses beyond pick(), so that callers skip what it does not:
  // a method that keeps no state and wants no results costs nothing more.
  enum Needs : unsigned {
    kNothing = 0,
    kState = 1,    // overrides build_state()
    kResults = 2,  // overrides result()
  };
  explicit Selector(unsigned needs = kNothing) noexcept : needs_(needs) {}
  virtual ~Selector() = default;

  bool stateful() const noexcept { return (needs_ & kState) != 0; }
  bool wants_results() const noexcept { return (needs_ & kResults) != 0; }

  // Returns the position in `candidates` of the chosen member.
  // Contract: `candidates` is not empty. Thread- and process-safe: only atomic
  // updates of the candidates' counters, and reads of ctx.state.
  virtual std::size_t pick(std::span<const Candidate> candidates,
                           const PickContext& ctx) const noexcept = 0;
  // The state picks get for a balancer whose members are `members` (all of them,
  // usable or not, by index). Called only for a method that needs kState.
  virtual std::unique_ptr<const SelectorState> build_state(
      std::span<const Candidate> /*members*/) const {
    return nullptr;
  }
  // After each attempt this method picked or that a session routed to `member`;
  // called only for a method that needs kResults. Shared per-member figures that
  // every method and the manager use (latency, busy) are kept by the caller.
  virtual void result(MemberCounters& /*member*/, const AttemptResult& /*r*/) const noexcept {}

 private:
  unsigned needs_;
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

// Every selector name, comma-separated, for messages.
std::string selector_list();

// The selector named selector_names()[index], or nullptr past the end. Lets shared
// memory name a selector by a small number.
const Selector* selector_at(std::size_t index) noexcept;

// Where shared memory keeps a balancer's method (BalancerCounters::selector):
// the index of `name` in selector_names() plus one, so that 0 means "as
// configured"; 0 for a name that is none of them.
std::uint32_t selector_number(std::string_view name) noexcept;

// The method a balancer balances by: the one a balancer-manager edit named
// (`edited`, a selector_number(); 0: none), else the configured one (nullptr:
// none), else byrequests, mod_proxy's default.
const Selector* balancer_selector(std::uint32_t edited, const Selector* configured) noexcept;

// Reseeds the calling thread's random source (leastrequest, bylatency), so that a
// test can replay the same picks. Threads seed themselves from the OS otherwise.
void seed_selector_random(std::uint64_t seed) noexcept;

}  // namespace isb

// Member status bits and the predicates that decide what they mean.
//
// The values are the ones httpd's mod_proxy keeps in proxy_worker_shared::status,
// so the httpd layer hands the shared status word to the core unchanged
// (mod_isbalancer/httpd/worker_table.hpp checks this with static_assert).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace isb {

enum StatusBit : std::uint32_t {
  kInitialized = 0x0001,   // O: the member's connection pool exists
  kIgnoreErrors = 0x0002,  // I: errors never put the member into error state
  kDrain = 0x0004,         // N: takes its own sticky sessions, no new ones
  kGeneric = 0x0008,       // G
  kInShutdown = 0x0010,    // U
  kDisabled = 0x0020,      // D: takes no traffic
  kStopped = 0x0040,       // S: takes no traffic and is never retried
  kInError = 0x0080,       // E: failed; retried after its retry interval
  kHotStandby = 0x0100,    // H: used only when no other member of its lbset is usable
  kFree = 0x0200,          // F
  kHcFail = 0x0400,        // C: failed mod_proxy_hcheck's health check
  kHotSpare = 0x0800,      // R: replaces an unusable member of its lbset one for one
};

inline constexpr std::uint32_t kNotUsable = kInShutdown | kDisabled | kStopped | kInError | kHcFail;

// Everything the module says about each flag, in the order stock's page lists them.
struct StatusFlag {
  std::uint32_t bit;
  char letter;                  // status=+X in BalancerMember; w_status_X in the manager
  std::string_view stock_name;  // stock's page and XML: "Init "
  std::string_view json_name;   // the manager JSON's "flags" key
  std::string_view label;       // the edit form's label; empty: not the operator's to set
};

inline constexpr std::array<StatusFlag, 12> kStatusFlags = {{
    {kInitialized, 'O', "Init ", "initialized", ""},
    {kIgnoreErrors, 'I', "Ign ", "ignore_errors", "Ignore errors"},
    {kDrain, 'N', "Drn ", "drain", "Drain"},
    {kGeneric, 'G', "Gen ", "generic", ""},
    {kInShutdown, 'U', "Shut ", "shutdown", ""},
    {kDisabled, 'D', "Dis ", "disabled", "Disabled"},
    {kStopped, 'S', "Stop ", "stopped", "Stopped"},
    {kInError, 'E', "Err ", "error", ""},
    {kHotStandby, 'H', "Stby ", "hot_standby", "Hot standby"},
    {kHotSpare, 'R', "Spar ", "hot_spare", "Hot spare"},
    {kFree, 'F', "Free ", "free", ""},
    {kHcFail, 'C', "HcFl ", "hcheck_failed", "Health check failed"},
}};

// The flag for status letter `letter`, or nullptr.
constexpr const StatusFlag* find_status_flag(char letter) noexcept {
  for (const StatusFlag& f : kStatusFlags) {
    if (f.letter == letter) return &f;
  }
  return nullptr;
}

// The flags an operator may set or clear (those with a form label); the others
// (E, O, U, ...) are the balancer's own.
inline constexpr std::uint32_t kAdminBits = [] {
  std::uint32_t bits = 0;
  for (const StatusFlag& f : kStatusFlags) {
    if (!f.label.empty()) bits |= f.bit;
  }
  return bits;
}();
static_assert(kAdminBits ==
              (kIgnoreErrors | kDrain | kDisabled | kHotStandby | kHotSpare | kStopped | kHcFail));

// A member can take a request: initialised and none of the not-usable bits set.
constexpr bool is_usable(std::uint32_t status) noexcept {
  return (status & kNotUsable) == 0 && (status & kInitialized) != 0;
}

}  // namespace isb

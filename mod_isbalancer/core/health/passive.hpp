// Passive health: what one response says about the member that gave it.
//
// After every proxied request the httpd layer hands the core the response's
// outcome (status, whether mod_proxy timed out, how long it took); the core says
// whether that puts the member into error state, and why. The rules are stock
// mod_proxy_balancer's post_request, restated:
//   - a member that ignores errors (I) is never put into error;
//   - a status listed in the balancer's `failonstatus` puts it into error;
//   - else, a timeout with `failontimeout=On` puts it into error.
// Only the answer comes back: the caller sets the error bit and the error time in
// mod_proxy's shared status word, and counts the fault.
#pragma once

#include <cstdint>
#include <span>

#include "core/member/status.hpp"

namespace isb {

struct PassiveHealth {
  std::span<const int> fail_statuses;  // failonstatus=CODE,...
  bool fail_on_timeout = false;        // failontimeout=On
};

struct Response {
  int status = 0;          // the status sent to the client
  bool timed_out = false;  // mod_proxy gave up waiting for the member
};

enum class Fault : std::uint8_t {
  kNone,     // the member stays as it is
  kStatus,   // its status is listed in failonstatus
  kTimeout,  // it timed out and failontimeout is On
};

// Contract: `member_status` is the member's status word (status.hpp bits).
constexpr Fault judge_response(const PassiveHealth& health, std::uint32_t member_status,
                               const Response& response) noexcept {
  if ((member_status & kIgnoreErrors) != 0) return Fault::kNone;
  for (int code : health.fail_statuses) {
    if (code == response.status) return Fault::kStatus;
  }
  if (health.fail_on_timeout && response.timed_out) return Fault::kTimeout;
  return Fault::kNone;
}

}  // namespace isb

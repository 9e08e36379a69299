// The longest values mod_proxy's fixed-size shared fields can hold. Every parser
// and validator that accepts a member or balancer setting checks against these,
// so a value that passes always fits the field it is written to.
#pragma once

#include <cstddef>

namespace isb {

inline constexpr std::size_t kMaxRouteChars = 63;   // proxy_worker_shared::route[64], redirect[64]
inline constexpr std::size_t kMaxStickyChars = 63;  // proxy_balancer_shared::sticky[64]
// Ours: a member URL added at run time; proxy_worker_shared::name_ex holds more.
inline constexpr std::size_t kMaxMemberUrlChars = 255;
inline constexpr std::size_t kMaxHcUriChars = 63;   // proxy_worker_shared::hcuri[64]
inline constexpr std::size_t kMaxHcExprChars = 15;  // proxy_worker_shared::hcexpr[16]
// Ours: the name of a mod_proxy_hcheck method ("GET", "OPTIONS11", ...).
inline constexpr std::size_t kMaxHcMethodChars = 15;

}  // namespace isb

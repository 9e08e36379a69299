// The balancer-manager's nonce: random bytes written as a version 4 UUID, the
// format stock's page and scripts expect.
#pragma once

#include <cstddef>
#include <span>

namespace isb {

inline constexpr std::size_t kNonceBytes = 16;
inline constexpr std::size_t kNonceChars = 36;  // "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"

// Writes `random` as a UUID (version 4, variant 1, lower-case hex) and a NUL.
void format_nonce(std::span<const unsigned char, kNonceBytes> random,
                  std::span<char, kNonceChars + 1> out) noexcept;

}  // namespace isb

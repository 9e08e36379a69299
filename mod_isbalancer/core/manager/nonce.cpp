#include "core/manager/nonce.hpp"

#include <array>

namespace isb {

void format_nonce(std::span<const unsigned char, kNonceBytes> random,
                  std::span<char, kNonceChars + 1> out) noexcept {
  std::array<unsigned char, kNonceBytes> r;
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = random[i];
  r[6] = static_cast<unsigned char>((r[6] & 0x0f) | 0x40);  // version 4
  r[8] = static_cast<unsigned char>((r[8] & 0x3f) | 0x80);  // variant 1
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t o = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[r[i] >> 4];
    out[o++] = kHex[r[i] & 15];
  }
  out[o] = '\0';
}

}  // namespace isb

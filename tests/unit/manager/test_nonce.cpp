// The balancer-manager's nonce (core/manager/nonce.hpp): random bytes as a
// version 4 UUID, the format stock's page and scripts expect.
#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "core/manager/nonce.hpp"

using namespace isb;

namespace {

std::string nonce_of(const std::array<unsigned char, kNonceBytes>& random) {
  std::array<char, kNonceChars + 1> out;
  out.fill('x');
  format_nonce(random, out);
  CHECK(out[kNonceChars] == '\0');
  return std::string(out.data());
}

}  // namespace

TEST_CASE("nonce: a version 4, variant 1 UUID in lower-case hex", "[manager]") {
  std::array<unsigned char, kNonceBytes> zero{};
  CHECK(nonce_of(zero) == "00000000-0000-4000-8000-000000000000");
  std::array<unsigned char, kNonceBytes> ones;
  ones.fill(0xff);
  CHECK(nonce_of(ones) == "ffffffff-ffff-4fff-bfff-ffffffffffff");
  std::array<unsigned char, kNonceBytes> counting;
  for (std::size_t i = 0; i < counting.size(); ++i) {
    counting[i] = static_cast<unsigned char>(i * 17);
  }
  // Byte 6's high nibble becomes 4, byte 8's top bits 10; the rest is as given.
  CHECK(nonce_of(counting) == "00112233-4455-4677-8899-aabbccddeeff");
  CHECK(nonce_of(counting).size() == kNonceChars);
}

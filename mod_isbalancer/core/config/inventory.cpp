#include "core/config/inventory.hpp"

namespace isb {

std::optional<int> default_max_attempts(bool configured, int members) noexcept {
  if (configured || members <= 1) return std::nullopt;
  return members - 1;
}

}  // namespace isb

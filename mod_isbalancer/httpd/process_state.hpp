// What one httpd process knows about the shared segment. Written by the parent in
// post_config before any child is forked; read-only afterwards, so children read
// it without locks.
#pragma once

#include <optional>

#include "../core/shared_state.hpp"

namespace isb::httpd {

struct ProcessState {
  std::optional<SharedState> shared;
};

ProcessState& process_state() noexcept;

}  // namespace isb::httpd

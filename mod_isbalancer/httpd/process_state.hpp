// What one httpd process knows about the shared segment. Written by the parent in
// post_config before any child is forked; read-only afterwards, so children read
// it without locks.
#pragma once

#include <optional>

#include "../core/shared_state.hpp"
#include "httpd_includes.hpp"

namespace isb::httpd {

struct ProcessState {
  std::optional<SharedState> shared;
  // The parent's PID: pool cleanups that only the parent may run check it.
  long parent_pid = 0;
  // mod_proxy_hcheck is loaded: its fields are shown and editable.
  bool health_checks = false;
  // A pool as long-lived as this child, for members added at run time.
  apr_pool_t* child_pool = nullptr;
};

ProcessState& process_state() noexcept;

}  // namespace isb::httpd

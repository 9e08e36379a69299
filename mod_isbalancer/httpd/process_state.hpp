// What one httpd process knows about the shared segment. `shared` is written by the
// parent in post_config before any child is forked, `process_row` by each child in
// child_init before it serves a request; both are read-only afterwards, so request
// threads read them without locks.
#pragma once

#include <optional>

#include "core/shm/shared_state.hpp"
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
  // This child's busy-ledger row; none in the parent, or when every row is taken.
  std::optional<std::uint32_t> process_row;
};

ProcessState& process_state() noexcept;

}  // namespace isb::httpd

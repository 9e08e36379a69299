// Runtime edits that outlive a configuration generation.
//
// An edit is kept as the form that recreates it (members.hpp: runtime_edits),
// so restoring it goes through the same validation as an operator's edit:
//
//   - graceful restart, same configuration: the segment is kept, nothing to do;
//   - graceful restart, changed configuration: the parent collects the edits of
//     the old generation when its pool is cleared and replays them on the new one;
//   - full restart (stop, start): with BalancerPersist On for the balancer's
//     virtual host, the edits are read back from the state file in
//     DefaultRuntimeDir, which the parent writes at shutdown and children rewrite
//     after every edit.
#pragma once

#include <string>
#include <vector>

#include "../core/manager_edit.hpp"
#include "httpd_includes.hpp"

namespace isb::httpd {

struct SavedEdit {
  std::string scope;  // LocalBalancer::scope
  std::vector<FormField> fields;
};

// Where the state file lives.
const char* state_file_path(apr_pool_t* p);

// Every runtime edit of every balancer of this generation (only those with
// BalancerPersist On when `persistent_only`).
std::vector<SavedEdit> collect_edits(bool persistent_only);

// Writes the edits of persistent balancers to the state file. The parent
// replaces the file and hands it to the child user; a child rewrites it in place.
// Returns false (and logs at debug level) when the file cannot be written.
bool write_state_file(server_rec* s, apr_pool_t* p, bool in_parent);

// Reads the state file; malformed lines are logged and skipped.
std::vector<SavedEdit> read_state_file(server_rec* s, apr_pool_t* p);

// Edits the parent carried from the previous generation (graceful restart),
// handed over once.
std::vector<SavedEdit> take_carried_edits(server_rec* s);

// Registered on pconf: collects this generation's edits before its pool goes.
apr_status_t carry_edits_on_cleanup(void* server) noexcept;

}  // namespace isb::httpd

// Runtime edits that outlive a configuration generation.
//
// An edit is kept as the form that recreates it (members.hpp: runtime_edits),
// so restoring it goes through the same validation as an operator's edit:
//
//   - graceful restart, same configuration: the segment is kept, nothing to do;
//   - graceful restart, changed configuration: the parent collects the edits of
//     the old generation when its pool is cleared and replays them on the new one;
//   - full restart (stop, start, or after kill -9): with BalancerPersist On for
//     the balancer's virtual host, the edits are read back from the state file
//     (core/persist/state_file.hpp for its text).
//
// Where the file lives: DefaultRuntimeDir/mod_isbalancer/state. The parent (root)
// makes that directory in post_config, a real directory (never a symlink) owned
// by the httpd user with mode 0700, so that children can create and rename files
// in it. DefaultRuntimeDir itself belongs to root and is never written to.
//
// Who writes, and the locking contract: a child writes the whole file (every
// persistent balancer) after each applied edit, before its response, holding
// that balancer's edit lock; the parent writes it when a generation ends. Every
// writer takes an exclusive flock on the directory, then renders the edits from
// the shared segment, then writes state.new (O_CREAT|O_EXCL|O_NOFOLLOW), fsyncs
// it, renames it over state and fsyncs the directory. Rendering under the flock,
// after the writer's own edit is in the segment, means the last file written
// holds every edit whose writer has finished: two children editing two balancers
// cannot lose each other's edit. A render may see another balancer's edit half
// applied; that edit's own writer rewrites the file after it.
//
// Reading (the parent, at a full start) opens with O_NOFOLLOW|O_NONBLOCK and
// takes a regular file only; a file refused as a whole is moved aside to
// state.refused and the start goes on from the configuration. The state file of
// older builds, DefaultRuntimeDir/mod_isbalancer.state, is read (the same way)
// only when the new one does not exist yet, and never written.
#pragma once

#include <string>
#include <vector>

#include "core/manager/manager_edit.hpp"
#include "core/persist/state_file.hpp"
#include "httpd_includes.hpp"

namespace isb::httpd {

// SavedEdit (core/persist/state_file.hpp): a scope (LocalBalancer::scope) and a form.

// Where the state file lives.
const char* state_file_path(apr_pool_t* p);

// Parent, post_config: makes (or checks) the state directory and hands it to
// the httpd user, when a virtual host has BalancerPersist On. Logs ISB00044 and
// returns false when the directory cannot be used; edits then are not saved.
bool prepare_state_dir(server_rec* s, apr_pool_t* p);

// Every runtime edit of every balancer of this generation (only those with
// BalancerPersist On when `persistent_only`).
std::vector<SavedEdit> collect_edits(bool persistent_only);

// Writes the edits of persistent balancers to the state file, durably (see
// above), in a child or in the parent. Returns false (and logs ISB00024) when the
// file cannot be written; true when it was, or when no balancer persists.
bool write_state_file(server_rec* s, apr_pool_t* p, bool in_parent);

// Reads the state file (parent, full start). A file refused as a whole is
// logged (ISB00043) and gives no edits; malformed lines of an intact file are
// logged (ISB00025) and skipped.
std::vector<SavedEdit> read_state_file(server_rec* s, apr_pool_t* p);

// Edits the parent carried from the previous generation (graceful restart),
// handed over once.
std::vector<SavedEdit> take_carried_edits(server_rec* s);

// Registered on pconf: collects this generation's edits before its pool goes.
apr_status_t carry_edits_on_cleanup(void* server) noexcept;

}  // namespace isb::httpd

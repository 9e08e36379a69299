#include "persist.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <unixd.h>

#include <apr_strings.h>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "core/persist/state_store.hpp"
#include "core/shm/edit_lock.hpp"
#include "log_ids.hpp"
#include "members.hpp"
#include "process_state.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {
namespace {

constexpr const char* kCarriedKey = "mod_isbalancer:carried-edits";
constexpr const char* kDirName = "mod_isbalancer";        // under DefaultRuntimeDir
constexpr const char* kStateName = "state";               // in kDirName
constexpr const char* kTempName = "state.new";            // in kDirName
constexpr const char* kRefusedName = "state.refused";     // in kDirName
constexpr const char* kOldName = "mod_isbalancer.state";  // older builds: DefaultRuntimeDir

bool any_persistent() {
  for (const auto& lb : local_balancers()) {
    if (lb && lb->persist) return true;
  }
  return false;
}

const char* state_dir_path(apr_pool_t* p) {
  return ap_runtime_dir_relative(p, kDirName);
}

// Who owns the directory: the httpd user, or whoever runs httpd when it is
// not started as root (then children run as that user too).
uid_t dir_owner() {
  return geteuid() == 0 ? ap_unixd_config.user_id : geteuid();
}

}  // namespace

const char* state_file_path(apr_pool_t* p) {
  return apr_pstrcat(p, state_dir_path(p), "/", kStateName, nullptr);
}

bool prepare_state_dir(server_rec* s, apr_pool_t* p) {
  if (!any_persistent()) return true;
  const char* path = state_dir_path(p);
  const std::optional<DirProblem> problem = prepare_private_dir(path, geteuid(), dir_owner());
  if (problem && problem->cannot_make) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                 ISB_LOGNO(00044) "cannot create the BalancerPersist directory %s (%s); runtime "
                                  "edits will not be saved",
                 path, problem->why.c_str());
    return false;
  }
  if (problem) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                 ISB_LOGNO(00044) "the BalancerPersist directory %s %s; refusing to use it, "
                                  "runtime edits will not be saved (remove it; httpd makes it "
                                  "again at start)",
                 path, problem->why.c_str());
    return false;
  }
  return true;
}

std::vector<SavedEdit> collect_edits(bool persistent_only) {
  std::vector<SavedEdit> out;
  const auto& shared = process_state().shared;
  if (!shared) return out;
  for (const auto& lb : local_balancers()) {
    if (!lb || (persistent_only && !lb->persist)) continue;
    for (auto& fields : runtime_edits(*lb, *shared)) out.push_back({lb->scope, std::move(fields)});
  }
  return out;
}

bool write_state_file(server_rec* s, apr_pool_t* p, bool in_parent) {
  if (!any_persistent()) return true;
  const char* dir = state_dir_path(p);
  std::string why;
  UniqueFd dirfd = open_private_dir(dir, dir_owner(), why);
  bool ok = static_cast<bool>(dirfd);
  if (ok && !lock_private_dir(dirfd.get())) {
    why = errno == ETIMEDOUT ? std::string("another writer held its lock for 5 s")
                             : std::string("cannot lock it: ") + std::strerror(errno);
    ok = false;
  }
  // Rendered under the lock: see the contract in persist.hpp.
  if (ok) {
    const std::string text = render_state_file(collect_edits(true));
    // The one on disk stays as it was when the new one would be refused.
    if (auto big = state_file_too_large(text.size())) {
      why = std::move(*big);
      ok = false;
    } else {
      ok = replace_file_locked(dirfd.get(), kStateName, kTempName, text, why);
    }
  }
  if (!ok) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                 ISB_LOGNO(00024) "cannot write the BalancerPersist state file in %s (%s, in "
                                  "the %s); runtime edits will not survive a full restart",
                 dir, why.c_str(), in_parent ? "parent" : "child");
  }
  return ok;  // the flock goes with the descriptor
}

std::vector<SavedEdit> read_state_file(server_rec* s, apr_pool_t* p) {
  if (!any_persistent()) return {};
  const char* dir = state_dir_path(p);
  std::string why;
  UniqueFd dirfd = open_private_dir(dir, dir_owner(), why);
  if (!dirfd) return {};  // prepare_state_dir said why
  const char* path = state_file_path(p);
  std::string text;
  ReadOutcome got = read_private_file(dirfd.get(), kStateName, dir_owner(), text, why);
  bool migrating = false;
  if (got == ReadOutcome::kMissing) {
    // Nothing saved here yet: an older build's file, read once. It is never
    // written again; the next write goes to the new place.
    path = ap_runtime_dir_relative(p, kOldName);
    got = read_private_file(AT_FDCWD, path, dir_owner(), text, why);
    migrating = true;
  }
  if (got == ReadOutcome::kMissing) return {};
  std::optional<StateFile> parsed;
  if (got == ReadOutcome::kRead) parsed = parse_state_file(text, why);
  if (!parsed) {
    // Moved aside, so that the operator can look at it and the next write does
    // not look like it saved what it did not.
    const bool aside =
        !migrating && ::renameat(dirfd.get(), kStateName, dirfd.get(), kRefusedName) == 0;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 ISB_LOGNO(00043) "BalancerPersist state file %s %s; refusing it as a whole, "
                                  "the configuration's values are used%s",
                 path, why.c_str(), aside ? " (moved aside to state.refused)" : "");
    return {};
  }
  for (const auto& line : parsed->skipped) {
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 ISB_LOGNO(00025) "BalancerPersist state file %s %s is malformed; skipping it",
                 path, line.c_str());
  }
  if (migrating) {
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 ISB_LOGNO(00045) "read the saved edits of an older build from %s (version %d); "
                                  "from now on they are saved in %s, and the old file is "
                                  "neither read nor written again (it can be removed)",
                 path, parsed->version, state_file_path(p));
  }
  return std::move(parsed->edits);
}

std::vector<SavedEdit> take_carried_edits(server_rec* s) {
  apr_pool_t* ppool = s->process->pool;
  void* data = nullptr;
  apr_pool_userdata_get(&data, kCarriedKey, ppool);
  if (data == nullptr) return {};
  auto* held = static_cast<apr_pool_t*>(data);
  const char* text = nullptr;
  apr_pool_userdata_get(reinterpret_cast<void**>(const_cast<char**>(&text)), kCarriedKey, held);
  std::vector<SavedEdit> out;
  if (text != nullptr) {
    std::string why;
    if (auto parsed = parse_state_file(text, why)) out = std::move(parsed->edits);
  }
  apr_pool_destroy(held);
  apr_pool_userdata_set(nullptr, kCarriedKey, apr_pool_cleanup_null, ppool);
  return out;
}

apr_status_t carry_edits_on_cleanup(void* server) noexcept {
  if (getpid() != process_state().parent_pid) return APR_SUCCESS;  // only the parent carries
  try {
    auto* s = static_cast<server_rec*>(server);
    // httpd unloads and reloads modules on a restart, so nothing of ours survives
    // but what hangs off the process pool: the edits go there as text.
    apr_pool_t* ppool = s->process->pool;
    void* old = nullptr;
    apr_pool_userdata_get(&old, kCarriedKey, ppool);
    if (old != nullptr) apr_pool_destroy(static_cast<apr_pool_t*>(old));
    // Close every balancer under its edit lock first (core/shm/edit_lock.hpp): an edit
    // that already answered 200 is in what is collected below, and one that
    // comes later in an old child is refused instead of being lost.
    if (const auto& shared = process_state().shared) {
      for (const auto& lb : local_balancers()) {
        if (!lb) continue;
        BalancerCounters& counters = shared->balancer(lb->slot);
        EditLock lock(counters);
        if (!lock.acquire(std::chrono::seconds(2))) {
          ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                       ISB_LOGNO(00046) "%s: an edit held its lock for 2 s while httpd "
                                        "restarted; an edit still running now may be lost",
                       lb->main->s->name);
        }
        counters.closed.store(1, std::memory_order_release);
      }
    }
    apr_pool_t* held = nullptr;
    apr_pool_create(&held, ppool);
    const std::string text = render_state_file(collect_edits(false));
    apr_pool_userdata_set(apr_pstrmemdup(held, text.data(), text.size()), kCarriedKey,
                          apr_pool_cleanup_null, held);
    apr_pool_userdata_set(held, kCarriedKey, apr_pool_cleanup_null, ppool);
    write_state_file(s, ppool, true);
  } catch (...) {
    // Nothing may escape into httpd; losing the carried edits is the worst case.
  }
  return APR_SUCCESS;
}

}  // namespace isb::httpd

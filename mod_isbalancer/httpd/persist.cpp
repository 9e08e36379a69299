#include "persist.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unixd.h>

#include <apr_strings.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <thread>

#include "edit_lock.hpp"
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
constexpr int kLockTries = 500;                           // of 10 ms: 5 s at most

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

// A file descriptor that closes itself.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  explicit operator bool() const { return fd >= 0; }
};

std::string errno_text(int err) {
  return std::strerror(err);
}

// Why a directory could not be opened with O_DIRECTORY|O_NOFOLLOW (Linux says
// ENOTDIR, not ELOOP, for a symlink then): lstat tells.
std::string dir_open_failure(const char* path, int err) {
  struct stat st {};
  if (::lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) return "is a symbolic link";
  if (err == ENOTDIR) return "is not a directory";
  return errno_text(err);
}

// Opens the state directory without following a symlink, and checks that it is
// a directory of the httpd user that no one else can enter.
int open_state_dir(const char* path, std::string& why) {
  int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    why = dir_open_failure(path, errno);
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    why = "is not a directory";
  } else if (st.st_uid != dir_owner()) {
    why = "is owned by uid " + std::to_string(st.st_uid) + ", not by the httpd user (uid " +
          std::to_string(dir_owner()) + ")";
  } else if ((st.st_mode & 077) != 0) {
    why = "can be entered by other users (mode 0" + std::to_string((st.st_mode >> 6) & 7) +
          std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + ")";
  } else {
    return fd;
  }
  ::close(fd);
  return -1;
}

// Every writer holds this lock (an flock on the directory) while it renders and
// writes; bounded, so that a stuck writer cannot hang a request for ever.
bool lock_dir(int dirfd) {
  for (int i = 0; i < kLockTries; ++i) {
    if (::flock(dirfd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK && errno != EINTR) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  errno = ETIMEDOUT;
  return false;
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// state.new, fsync, rename over state, fsync of the directory. The flock is held.
bool replace_state_locked(int dirfd, const std::string& text, std::string& why) {
  // A temp file left by a writer that died: ours to remove (the directory is ours;
  // unlinkat removes a symlink itself, never its target).
  if (::unlinkat(dirfd, kTempName, 0) != 0 && errno != ENOENT) {
    why = "cannot remove the old " + std::string(kTempName) + ": " + errno_text(errno);
    return false;
  }
  Fd fd(::openat(dirfd, kTempName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    why = "cannot create " + std::string(kTempName) + ": " + errno_text(errno);
    return false;
  }
  if (!write_all(fd.fd, text) || ::fsync(fd.fd) != 0) {
    why = "cannot write " + std::string(kTempName) + ": " + errno_text(errno);
    ::unlinkat(dirfd, kTempName, 0);
    return false;
  }
  if (::renameat(dirfd, kTempName, dirfd, kStateName) != 0) {
    why = "cannot rename " + std::string(kTempName) + ": " + errno_text(errno);
    ::unlinkat(dirfd, kTempName, 0);
    return false;
  }
  if (::fsync(dirfd) != 0) {
    why = "cannot sync the directory: " + errno_text(errno);
    return false;
  }
  return true;
}

enum class ReadOutcome { kMissing, kRead, kRefused };

// Reads `name` (relative to dirfd) if it is a regular file of at most the cap.
// O_NONBLOCK: a FIFO or a device planted there cannot block the start.
ReadOutcome read_regular(int dirfd, const char* name, std::string& text, std::string& why) {
  Fd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return ReadOutcome::kMissing;
    why = errno == ELOOP ? "is a symbolic link" : "cannot be opened: " + errno_text(errno);
    return ReadOutcome::kRefused;
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    why = "is not a regular file";
    return ReadOutcome::kRefused;
  }
  // Only what root or the httpd user wrote is replayed, and only what no one
  // else could have rewritten since.
  if (st.st_uid != 0 && st.st_uid != dir_owner()) {
    why = "is owned by uid " + std::to_string(st.st_uid) + ", neither root nor the httpd user";
    return ReadOutcome::kRefused;
  }
  if ((st.st_mode & 0022) != 0) {
    why = "can be written by users other than its owner";
    return ReadOutcome::kRefused;
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxStateFileBytes) {
    why = "is larger than " + std::to_string(kMaxStateFileBytes) + " bytes";
    return ReadOutcome::kRefused;
  }
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = "cannot be read: " + errno_text(errno);
      return ReadOutcome::kRefused;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxStateFileBytes) break;  // grew while we read: parse refuses it
  }
  return ReadOutcome::kRead;
}

}  // namespace

const char* state_file_path(apr_pool_t* p) {
  return apr_pstrcat(p, state_dir_path(p), "/", kStateName, nullptr);
}

bool prepare_state_dir(server_rec* s, apr_pool_t* p) {
  if (!any_persistent()) return true;
  const char* path = state_dir_path(p);
  if (::mkdir(path, 0700) != 0 && errno != EEXIST) {
    ap_log_error(APLOG_MARK, APLOG_ERR, errno, s,
                 ISB_LOGNO(00044) "cannot create the BalancerPersist directory %s; runtime "
                                  "edits will not be saved",
                 path);
    return false;
  }
  int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  std::string why;
  struct stat st {};
  if (fd < 0) {
    why = dir_open_failure(path, errno);
  } else if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    why = "is not a directory";
  } else if ((st.st_mode & 0022) != 0) {
    // Anyone could have planted saved edits in it (or swapped them later).
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    why = std::string("can be written by others (mode ") + mode + ")";
  } else if (st.st_uid != geteuid() && st.st_uid != dir_owner()) {
    // Not made by us (root) nor already handed to the httpd user: someone
    // else's, and not ours to take.
    why = "is owned by uid " + std::to_string(st.st_uid) + ", neither root nor the httpd user";
  } else if ((st.st_uid != dir_owner() && ::fchown(fd, dir_owner(), static_cast<gid_t>(-1)) != 0) ||
             ((st.st_mode & 07777) != 0700 && ::fchmod(fd, 0700) != 0)) {
    why = "cannot be handed to the httpd user: " + errno_text(errno);
  }
  if (fd >= 0) ::close(fd);
  if (!why.empty()) {
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                 ISB_LOGNO(00044) "the BalancerPersist directory %s %s; refusing to use it, "
                                  "runtime edits will not be saved (remove it; httpd makes it "
                                  "again at start)",
                 path, why.c_str());
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
  Fd dirfd(open_state_dir(dir, why));
  bool ok = static_cast<bool>(dirfd);
  if (ok && !lock_dir(dirfd.fd)) {
    why = errno == ETIMEDOUT ? std::string("another writer held its lock for 5 s")
                             : "cannot lock it: " + errno_text(errno);
    ok = false;
  }
  // Rendered under the lock: see the contract in persist.hpp.
  if (ok) {
    const std::string text = render_state_file(collect_edits(true));
    // A file the next start would refuse as a whole must not be written (nor
    // the edit acknowledged as saved): the one on disk stays as it was.
    if (text.size() > kMaxStateFileBytes) {
      why = "the edits would take " + std::to_string(text.size()) + " bytes, over the " +
            std::to_string(kMaxStateFileBytes) + "-byte limit";
      ok = false;
    } else {
      ok = replace_state_locked(dirfd.fd, text, why);
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
  Fd dirfd(open_state_dir(dir, why));
  if (!dirfd) return {};  // prepare_state_dir said why
  const char* path = state_file_path(p);
  std::string text;
  ReadOutcome got = read_regular(dirfd.fd, kStateName, text, why);
  bool migrating = false;
  if (got == ReadOutcome::kMissing) {
    // Nothing saved here yet: an older build's file, read once. It is never
    // written again; the next write goes to the new place.
    path = ap_runtime_dir_relative(p, kOldName);
    got = read_regular(AT_FDCWD, path, text, why);
    migrating = true;
  }
  if (got == ReadOutcome::kMissing) return {};
  std::optional<StateFile> parsed;
  if (got == ReadOutcome::kRead) parsed = parse_state_file(text, why);
  if (!parsed) {
    // Moved aside, so that the operator can look at it and the next write does
    // not look like it saved what it did not.
    const bool aside = !migrating && ::renameat(dirfd.fd, kStateName, dirfd.fd, kRefusedName) == 0;
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
    // Close every balancer under its edit lock first (edit_lock.hpp): an edit
    // that already answered 200 is in what is collected below, and one that
    // comes later in an old child is refused instead of being lost.
    if (const auto& shared = process_state().shared) {
      for (const auto& lb : local_balancers()) {
        if (!lb) continue;
        BalancerCounters& counters = shared->balancer(lb->slot);
        EditLock lock(counters);
        if (!lock.acquire(apr_time_from_sec(2))) {
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

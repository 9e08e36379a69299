#include "core/persist/state_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "core/persist/state_file.hpp"

namespace isb {
namespace {

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

// Opens `path` as a directory, never through a symlink, and stats it; an invalid
// UniqueFd and `why` when it is no directory.
UniqueFd open_directory(const char* path, struct stat& st, std::string& why) {
  UniqueFd fd(::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    why = dir_open_failure(path, errno);
  } else if (::fstat(fd.get(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    why = "is not a directory";
    fd = UniqueFd{};
  }
  return fd;
}

bool write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<DirProblem> prepare_private_dir(const char* path, uid_t self, uid_t owner) {
  auto problem = [](std::string why) { return DirProblem{false, std::move(why)}; };
  if (::mkdir(path, 0700) != 0 && errno != EEXIST) return DirProblem{true, errno_text(errno)};
  struct stat st {};
  std::string why;
  UniqueFd fd = open_directory(path, st, why);
  if (!fd) return problem(std::move(why));
  if ((st.st_mode & 0022) != 0) {
    // Anyone could have planted saved edits in it (or swapped them later).
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return problem(std::string("can be written by others (mode ") + mode + ")");
  }
  if (st.st_uid != self && st.st_uid != owner) {
    // Not made by us nor already handed to the httpd user: someone else's, and
    // not ours to take.
    return problem("is owned by uid " + std::to_string(st.st_uid) +
                   ", neither root nor the httpd user");
  }
  if ((st.st_uid != owner && ::fchown(fd.get(), owner, static_cast<gid_t>(-1)) != 0) ||
      ((st.st_mode & 07777) != 0700 && ::fchmod(fd.get(), 0700) != 0)) {
    return problem("cannot be handed to the httpd user: " + errno_text(errno));
  }
  return std::nullopt;
}

UniqueFd open_private_dir(const char* path, uid_t owner, std::string& why) {
  struct stat st {};
  UniqueFd fd = open_directory(path, st, why);
  if (!fd) return fd;
  if (st.st_uid != owner) {
    why = "is owned by uid " + std::to_string(st.st_uid) + ", not by the httpd user (uid " +
          std::to_string(owner) + ")";
  } else if ((st.st_mode & 077) != 0) {
    why = "can be entered by other users (mode 0" + std::to_string((st.st_mode >> 6) & 7) +
          std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + ")";
  } else {
    return fd;
  }
  return UniqueFd{};
}

bool lock_private_dir(int dirfd, int tries) {
  for (int i = 0; i < tries; ++i) {
    if (::flock(dirfd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK && errno != EINTR) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  errno = ETIMEDOUT;
  return false;
}

bool replace_file_locked(int dirfd, const char* name, const char* temp_name, std::string_view text,
                         std::string& why) {
  // A temp file left by a writer that died: ours to remove (the directory is ours;
  // unlinkat removes a symlink itself, never its target).
  if (::unlinkat(dirfd, temp_name, 0) != 0 && errno != ENOENT) {
    why = "cannot remove the old " + std::string(temp_name) + ": " + errno_text(errno);
    return false;
  }
  UniqueFd fd(
      ::openat(dirfd, temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    why = "cannot create " + std::string(temp_name) + ": " + errno_text(errno);
    return false;
  }
  if (!write_all(fd.get(), text) || ::fsync(fd.get()) != 0) {
    why = "cannot write " + std::string(temp_name) + ": " + errno_text(errno);
    ::unlinkat(dirfd, temp_name, 0);
    return false;
  }
  if (::renameat(dirfd, temp_name, dirfd, name) != 0) {
    why = "cannot rename " + std::string(temp_name) + ": " + errno_text(errno);
    ::unlinkat(dirfd, temp_name, 0);
    return false;
  }
  if (::fsync(dirfd) != 0) {
    why = "cannot sync the directory: " + errno_text(errno);
    return false;
  }
  return true;
}

ReadOutcome read_private_file(int dirfd, const char* name, uid_t owner, std::string& text,
                              std::string& why) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return ReadOutcome::kMissing;
    why = errno == ELOOP ? "is a symbolic link" : "cannot be opened: " + errno_text(errno);
    return ReadOutcome::kRefused;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    why = "is not a regular file";
    return ReadOutcome::kRefused;
  }
  // Only what root or the httpd user wrote is replayed, and only what no one
  // else could have rewritten since.
  if (st.st_uid != 0 && st.st_uid != owner) {
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
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
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

}  // namespace isb

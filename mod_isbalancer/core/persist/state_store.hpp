// The state file on disk: POSIX calls only, so that every refusal can be tested
// in a temporary directory. The httpd layer (httpd/persist.cpp) says where the
// directory is and who owns it, and logs what these report; the file's text is
// state_file.hpp's.
//
// The rules, because the directory and the file are read by root at start:
//   - the directory is opened without following a symlink, must be a directory
//     of `owner` (the httpd user) that no one else can enter;
//   - a write is state.new (O_CREAT|O_EXCL|O_NOFOLLOW), fsync, rename over the
//     file, fsync of the directory, under an flock on the directory;
//   - a read takes a regular file only (O_NOFOLLOW|O_NONBLOCK: a FIFO planted
//     there cannot block the start), owned by root or `owner`, writable by no
//     one else, and of at most kMaxStateFileBytes.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace isb {

// A file descriptor that closes itself.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

// Why a private directory cannot be used.
struct DirProblem {
  bool cannot_make = false;  // mkdir failed: there is nothing to remove or fix there
  std::string why;           // "is a symbolic link", "No such file or directory", ...
};

// Parent, at start, running as `self` (root, or whoever runs httpd): makes the
// directory at `path` (mode 0700) if it is missing, refuses one that is a
// symlink, not a directory, writable by others, or owned by neither `self` nor
// `owner`, and hands it to `owner` with mode 0700. Nothing when it is ready.
std::optional<DirProblem> prepare_private_dir(const char* path, uid_t self, uid_t owner);

// Opens the directory for reading and writing its files; an invalid UniqueFd and
// `why` when it is a symlink, not a directory, not `owner`'s or can be entered
// by others.
UniqueFd open_private_dir(const char* path, uid_t owner, std::string& why);

// Takes an exclusive flock on the directory, trying for at most `tries` x 10 ms.
// false with errno ETIMEDOUT when another holder kept it that long.
bool lock_private_dir(int dirfd, int tries = 500);

// Replaces `name` in the directory by `text`, durably, through `temp_name`.
// The flock is held. false and `why` when a step fails; the old file stays.
bool replace_file_locked(int dirfd, const char* name, const char* temp_name, std::string_view text,
                         std::string& why);

enum class ReadOutcome { kMissing, kRead, kRefused };

// Reads `name` (relative to `dirfd`, or AT_FDCWD) under the rules above. A file
// that grew past the cap while it was read comes back longer than the cap, and
// the state-file parser refuses it.
ReadOutcome read_private_file(int dirfd, const char* name, uid_t owner, std::string& text,
                              std::string& why);

}  // namespace isb

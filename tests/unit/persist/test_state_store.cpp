// The state file on disk (core/persist/state_store.hpp), in a temporary
// directory: every refusal the start relies on, and a durable replace.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/persist/state_file.hpp"
#include "core/persist/state_store.hpp"

using namespace isb;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "isb-store-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& p, const std::string& text, mode_t mode = 0600) {
  std::ofstream(p) << text;
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

const uid_t kMe = ::geteuid();

// A private directory made by prepare_private_dir, open.
struct PrivateDir {
  TempDir t;
  fs::path dir = t.path / "d";
  UniqueFd fd;
  PrivateDir() {
    REQUIRE(!prepare_private_dir(dir.c_str(), kMe, kMe));
    std::string why;
    fd = open_private_dir(dir.c_str(), kMe, why);
    REQUIRE(fd);
  }
};

}  // namespace

TEST_CASE("state store: the directory is made private, and refused when it is not ours",
          "[persist][store]") {
  TempDir t;
  const fs::path dir = t.path / "mod_isbalancer";
  CHECK(!prepare_private_dir(dir.c_str(), kMe, kMe));
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(!prepare_private_dir(dir.c_str(), kMe, kMe));  // again: still fine

  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  CHECK(prepare_private_dir(dir.c_str(), kMe, kMe)->why == "can be written by others (mode 0777)");

  const fs::path link = t.path / "link";
  fs::create_directory_symlink(dir, link);
  CHECK(prepare_private_dir(link.c_str(), kMe, kMe)->why == "is a symbolic link");
  const fs::path file = t.path / "file";
  write_file(file, "x");
  CHECK(prepare_private_dir(file.c_str(), kMe, kMe)->why == "is not a directory");
  // A parent that does not exist: nothing to remove, and the caller says so.
  auto missing = prepare_private_dir((t.path / "no" / "such").c_str(), kMe, kMe);
  REQUIRE(missing);
  CHECK(missing->cannot_make);
  CHECK(missing->why == "No such file or directory");
}

TEST_CASE("state store: as root, the directory goes to the httpd user", "[persist][store]") {
  if (kMe != 0) return;  // needs chown
  TempDir t;
  const fs::path dir = t.path / "d";
  CHECK(!prepare_private_dir(dir.c_str(), 0, 4242));
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK(st.st_uid == 4242u);
  std::string why;
  CHECK(open_private_dir(dir.c_str(), 4242, why));
  CHECK(!open_private_dir(dir.c_str(), 4243, why));
  CHECK(why == "is owned by uid 4242, not by the httpd user (uid 4243)");
  // Someone else's directory is not taken over.
  REQUIRE(::chown(dir.c_str(), 4244, static_cast<gid_t>(-1)) == 0);
  CHECK(prepare_private_dir(dir.c_str(), 0, 4242)->why ==
        "is owned by uid 4244, neither root nor the httpd user");
}

TEST_CASE("state store: open refuses a directory others can enter", "[persist][store]") {
  TempDir t;
  const fs::path dir = t.path / "d";
  REQUIRE(!prepare_private_dir(dir.c_str(), kMe, kMe));
  std::string why;
  CHECK(open_private_dir(dir.c_str(), kMe, why));
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  CHECK(!open_private_dir(dir.c_str(), kMe, why));
  CHECK(why == "can be entered by other users (mode 0755)");
}

TEST_CASE("state store: replace is whole, and a planted temp symlink is not followed",
          "[persist][store]") {
  PrivateDir p;
  const fs::path& dir = p.dir;
  const int fd = p.fd.get();
  std::string why;
  const fs::path victim = p.t.path / "victim";
  write_file(victim, "untouched");
  fs::create_symlink(victim, dir / "state.new");
  REQUIRE(lock_private_dir(fd));
  REQUIRE(replace_file_locked(fd, "state", "state.new", "v2 text\n", why));
  std::string text;
  CHECK(read_private_file(fd, "state", kMe, text, why) == ReadOutcome::kRead);
  CHECK(text == "v2 text\n");
  CHECK(!fs::exists(dir / "state.new"));
  std::string kept;
  CHECK(read_private_file(AT_FDCWD, victim.c_str(), kMe, kept, why) == ReadOutcome::kRead);
  CHECK(kept == "untouched");
}

TEST_CASE("state store: the lock is exclusive and bounded", "[persist][store]") {
  PrivateDir p;
  UniqueFd& a = p.fd;
  std::string why;
  UniqueFd b = open_private_dir(p.dir.c_str(), kMe, why);  // another open file description
  REQUIRE(b);
  REQUIRE(lock_private_dir(a.get()));
  const auto start = std::chrono::steady_clock::now();
  CHECK(!lock_private_dir(b.get(), 3));
  CHECK(errno == ETIMEDOUT);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  a = UniqueFd{};  // closing releases it
  CHECK(lock_private_dir(b.get(), 3));
}

TEST_CASE("state store: reads only a private regular file under the cap", "[persist][store]") {
  PrivateDir p;
  const fs::path& dir = p.dir;
  const int fd = p.fd.get();
  std::string why;
  std::string text;
  CHECK(read_private_file(fd, "state", kMe, text, why) == ReadOutcome::kMissing);

  write_file(dir / "state", "hello");
  CHECK(read_private_file(fd, "state", kMe, text, why) == ReadOutcome::kRead);
  CHECK(text == "hello");

  auto refused = [&](const char* name) {
    std::string ignored;
    why.clear();
    return read_private_file(fd, name, kMe, ignored, why) == ReadOutcome::kRefused;
  };
  fs::create_symlink(dir / "state", dir / "link");
  CHECK(refused("link"));
  CHECK(why == "is a symbolic link");

  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  const auto start = std::chrono::steady_clock::now();
  CHECK(refused("fifo"));  // and it did not block waiting for a writer
  CHECK(why == "is not a regular file");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));

  write_file(dir / "shared", "x", 0666);
  CHECK(refused("shared"));
  CHECK(why == "can be written by users other than its owner");

  write_file(dir / "big", "");
  fs::resize_file(dir / "big", kMaxStateFileBytes + 1);  // sparse
  CHECK(refused("big"));
  CHECK(why.find("is larger than") == 0);

  if (kMe == 0) {
    write_file(dir / "theirs", "x");
    REQUIRE(::chown((dir / "theirs").c_str(), 4242, static_cast<gid_t>(-1)) == 0);
    CHECK(refused("theirs"));
    CHECK(why == "is owned by uid 4242, neither root nor the httpd user");
  }
}

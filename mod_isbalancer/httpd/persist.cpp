#include "persist.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <unixd.h>

#include <apr_strings.h>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "log_ids.hpp"
#include "members.hpp"
#include "process_state.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {
namespace {

constexpr std::string_view kHeader = "isbalancer-state 1";
constexpr std::size_t kMaxStateBytes = 4u << 20;
constexpr const char* kCarriedKey = "mod_isbalancer:carried-edits";

std::string render(const std::vector<SavedEdit>& edits) {
  std::string out;
  out += "# mod_isbalancer: balancer-manager edits, replayed at start-up for virtual\n";
  out += "# hosts with BalancerPersist On. One edit per line: scope, a tab, the form.\n";
  out += kHeader;
  out += '\n';
  for (const auto& e : edits) {
    out += e.scope;
    out += '\t';
    out += encode_form(e.fields);
    out += '\n';
  }
  return out;
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

}  // namespace

const char* state_file_path(apr_pool_t* p) {
  return ap_runtime_dir_relative(p, "mod_isbalancer.state");
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
  bool any = false;
  for (const auto& lb : local_balancers()) any = any || (lb && lb->persist);
  if (!any) return true;
  const char* path = state_file_path(p);
  const std::string text = render(collect_edits(true));
  if (in_parent) {
    std::string tmp = std::string(path) + ".new";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write_all(fd, text);
    // Children run as the httpd user and rewrite the file after each edit.
    if (ok && geteuid() == 0 && ::fchown(fd, ap_unixd_config.user_id, -1) != 0) ok = false;
    if (fd >= 0 && ::close(fd) != 0) ok = false;
    if (ok && ::rename(tmp.c_str(), path) != 0) ok = false;
    if (!ok) {
      ap_log_error(APLOG_MARK, APLOG_ERR, errno, s,
                   ISB_LOGNO(00024) "cannot write the BalancerPersist state file %s; runtime "
                                    "edits will not survive a full restart",
                   path);
      ::unlink(tmp.c_str());
    }
    return ok;
  }
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    ap_log_error(APLOG_MARK, APLOG_DEBUG, errno, s,
                 "mod_isbalancer: state file %s is not writable by this child; the parent "
                 "writes it at shutdown",
                 path);
    return false;
  }
  bool ok = ::flock(fd, LOCK_EX) == 0 && ::ftruncate(fd, 0) == 0 && write_all(fd, text);
  ::close(fd);
  return ok;
}

std::vector<SavedEdit> parse_state(server_rec* s, std::string_view text, const char* source) {
  std::vector<SavedEdit> out;
  std::string_view rest = text;
  bool header = false;
  int line_no = 0;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (!header) {
      if (line != kHeader) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     ISB_LOGNO(00025) "%s is not a mod_isbalancer state file of this version; "
                                      "ignoring it",
                     source);
        return out;
      }
      header = true;
      continue;
    }
    std::size_t tab = line.find('\t');
    EditError err;
    std::optional<std::vector<FormField>> fields;
    if (tab != std::string_view::npos) fields = parse_form(line.substr(tab + 1), err);
    if (!fields) {
      ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                   ISB_LOGNO(00025) "%s line %d is malformed (%s); skipping it", source, line_no,
                   err.message.empty() ? "no tab" : err.message.c_str());
      continue;
    }
    out.push_back({std::string(line.substr(0, tab)), std::move(*fields)});
  }
  return out;
}

std::vector<SavedEdit> read_state_file(server_rec* s, apr_pool_t* p) {
  const char* path = state_file_path(p);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};  // nothing saved yet
  std::string text;
  char buf[8192];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < kMaxStateBytes) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return parse_state(s, text, path);
}

std::vector<SavedEdit> take_carried_edits(server_rec* s) {
  apr_pool_t* ppool = s->process->pool;
  void* data = nullptr;
  apr_pool_userdata_get(&data, kCarriedKey, ppool);
  if (data == nullptr) return {};
  auto* held = static_cast<apr_pool_t*>(data);
  const char* text = nullptr;
  apr_pool_userdata_get(reinterpret_cast<void**>(const_cast<char**>(&text)), kCarriedKey, held);
  std::vector<SavedEdit> out =
      text ? parse_state(s, text, "the previous generation") : std::vector<SavedEdit>{};
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
    apr_pool_t* held = nullptr;
    apr_pool_create(&held, ppool);
    const std::string text = render(collect_edits(false));
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

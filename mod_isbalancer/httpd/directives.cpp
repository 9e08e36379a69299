#include "directives.hpp"

#include <strings.h>

#include <cstring>
#include <vector>

#include "core/config/own_settings.hpp"
#include "core/manager/manager_edit.hpp"
#include "members.hpp"

APLOG_USE_MODULE(isbalancer);

namespace isb::httpd {
namespace {

// httpd declares a directive's function as taking no arguments (cmd_func) and
// calls it with those its kind (ITERATE, FLAG, ...) gives; C++ needs the cast,
// through void (*)() so that the compiler knows it is meant.
template <typename F>
cmd_func as_cmd_func(F* f) {
  return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(f));
}

ManagerDirConfig* config_of(void* c) {
  return static_cast<ManagerDirConfig*>(c);
}

// The manager is a handler of a <Location> (or <Directory>, or a whole host);
// in a <Proxy> section these would be accepted and never read.
const char* misplaced(cmd_parms* cmd) {
  for (const ap_directive_t* d = cmd->directive ? cmd->directive->parent : nullptr; d != nullptr;
       d = d->parent) {
    if (strncasecmp(d->directive, "<Proxy", 6) == 0) {
      return apr_psprintf(cmd->pool,
                          "%s belongs with SetHandler balancer-manager (in its <Location>, or "
                          "for the server or virtual host), not in <Proxy %s>",
                          cmd->cmd->name, cmd->path ? cmd->path : "");
    }
  }
  return nullptr;
}

const char* add_trusted_origin(cmd_parms* cmd, void* c, const char* arg) noexcept {
  if (const char* err = misplaced(cmd)) return err;
  try {
    auto origin = parse_origin(arg);
    if (!origin) {
      return apr_psprintf(cmd->pool,
                          "%s: '%s' is not an origin; write scheme://host[:port] with scheme "
                          "http or https and no path, e.g. https://admin.example.com",
                          cmd->cmd->name, arg);
    }
    ManagerDirConfig* conf = config_of(c);
    if (conf->trusted_origins == nullptr) {
      conf->trusted_origins = apr_array_make(cmd->pool, 2, sizeof(const char*));
    }
    *static_cast<const char**>(apr_array_push(conf->trusted_origins)) =
        apr_pstrdup(cmd->pool, origin->c_str());
    return nullptr;
  } catch (...) {
    return "ISBalancerManagerTrustedOrigin: out of memory";
  }
}

const char* set_script_edits(cmd_parms* cmd, void* c, int on) noexcept {
  if (const char* err = misplaced(cmd)) return err;
  config_of(c)->script_edits = on ? 1 : 0;
  return nullptr;
}

// One ISBalancerSet or ISBalancerMemberSet line, checked when it was read.
struct OwnSettingsLine {
  const char* balancer;  // "balancer://name" as written
  const char* member;    // the member URL; nullptr for ISBalancerSet
  OwnSettings* settings;
  const char* where;  // "file:line", for messages at start-up
};

// Per-server configuration: the lines given in that server or virtual host.
struct ServerConfig {
  apr_array_header_t* own_lines;  // OwnSettingsLine
};

ServerConfig* server_config_of(const server_rec* s) {
  return static_cast<ServerConfig*>(ap_get_module_config(s->module_config, &isbalancer_module));
}

std::span<const OwnSettingsLine> own_lines_of(const server_rec* s) {
  const ServerConfig* conf = server_config_of(s);
  if (conf == nullptr || conf->own_lines == nullptr) return {};
  return {reinterpret_cast<const OwnSettingsLine*>(conf->own_lines->elts),
          static_cast<std::size_t>(conf->own_lines->nelts)};
}

bool is_balancer_url(const char* word) {
  return word != nullptr && strncasecmp(word, "balancer://", 11) == 0 && word[11] != '\0';
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// ISBalancerSet and ISBalancerMemberSet (cmd->info says which): the balancer from
// the enclosing <Proxy balancer://...> or the first word, then for a member its
// URL, then key=value words, all checked now so that httpd names the line.
const char* set_own_settings(cmd_parms* cmd, void*, const char* args) noexcept {
  const auto scope = cmd->info != nullptr ? SettingScope::kMember : SettingScope::kBalancer;
  const char* name = cmd->cmd->name;
  try {
    std::vector<const char*> words;
    while (*args != '\0') {
      const char* w = ap_getword_conf(cmd->pool, &args);
      if (*w != '\0') words.push_back(w);
    }
    std::size_t next = 0;
    const char* balancer = nullptr;
    if (cmd->path != nullptr) {
      if (!is_balancer_url(cmd->path)) {
        return apr_psprintf(cmd->pool,
                            "%s belongs in a <Proxy balancer://...> section or at server or "
                            "virtual-host level, not in <%s>",
                            name, cmd->path);
      }
      balancer = cmd->path;
    } else if (next < words.size() && is_balancer_url(words[next])) {
      balancer = words[next++];
    } else {
      return apr_psprintf(cmd->pool,
                          "%s outside <Proxy balancer://...> names its balancer first: %s "
                          "balancer://NAME %s",
                          name, name,
                          scope == SettingScope::kMember ? "MEMBER-URL key=value" : "key=value");
    }
    const char* member = nullptr;
    if (scope == SettingScope::kMember) {
      if (next == words.size() || std::strstr(words[next], "://") == nullptr) {
        return apr_psprintf(cmd->pool,
                            "%s: give the member's URL as its BalancerMember line has it, then "
                            "key=value, e.g. %s https://node1:9443 slowstart=60",
                            name, name);
      }
      member = words[next++];
    }
    std::vector<std::string_view> settings(words.begin() + static_cast<std::ptrdiff_t>(next),
                                           words.end());
    auto* parsed = new OwnSettings();
    apr_pool_cleanup_register(
        cmd->pool, parsed,
        [](void* p) -> apr_status_t {
          delete static_cast<OwnSettings*>(p);
          return APR_SUCCESS;
        },
        apr_pool_cleanup_null);
    if (auto err = parse_own_settings(name, scope, settings, *parsed)) {
      return apr_pstrdup(cmd->pool, err->c_str());
    }
    ServerConfig* conf = server_config_of(cmd->server);
    if (conf->own_lines == nullptr) {
      conf->own_lines = apr_array_make(cmd->pool, 4, sizeof(OwnSettingsLine));
    }
    *static_cast<OwnSettingsLine*>(apr_array_push(conf->own_lines)) = OwnSettingsLine{
        apr_pstrdup(cmd->pool, balancer), member ? apr_pstrdup(cmd->pool, member) : nullptr, parsed,
        apr_psprintf(cmd->pool, "%s:%d", cmd->directive ? cmd->directive->filename : "?",
                     cmd->directive ? cmd->directive->line_num : 0)};
    return nullptr;
  } catch (...) {
    return apr_psprintf(cmd->pool, "%s: out of memory", name);
  }
}

}  // namespace

void* create_server_config(apr_pool_t* p, server_rec*) noexcept {
  return apr_pcalloc(p, sizeof(ServerConfig));
}

// Each line belongs to the server or virtual host it was written in, as the
// <Proxy> section it names does: a virtual host does not take the main server's.
void* merge_server_config(apr_pool_t*, void*, void* add) noexcept {
  return add;
}

std::optional<std::string> apply_own_settings(server_rec* main_server) {
  // Which lines found their balancer; a line that found none is a mistake.
  std::vector<std::pair<const OwnSettingsLine*, bool>> lines;
  for (server_rec* s = main_server; s != nullptr; s = s->next) {
    for (const OwnSettingsLine& line : own_lines_of(s)) lines.emplace_back(&line, false);
  }
  for (auto& lb : local_balancers()) {
    if (!lb) continue;
    const std::string_view name = field(lb->main->s->name);
    const auto mine = own_lines_of(lb->server);
    // The balancer's defaults first, then each member's own, whatever the order
    // of the lines.
    for (int pass = 0; pass < 2; ++pass) {
      for (auto& [line, used] : lines) {
        const bool in_server = line >= mine.data() && line < mine.data() + mine.size();
        if ((line->member != nullptr) != (pass == 1) || !in_server ||
            !same_name(line->balancer, name)) {
          continue;
        }
        used = true;
        const OwnSettings& given = *line->settings;
        if (line->member == nullptr) {
          lb->member_defaults.member = given.applied(lb->member_defaults.member);
          lb->member_defaults.member_fields |= given.member_fields;
          for (auto& configured : lb->configured) {
            if (configured) *configured = given.applied(*configured);
          }
          continue;
        }
        const std::string want = member_key(line->member);
        bool found = false;
        for (std::size_t k = 0; k < lb->configured.size(); ++k) {
          if (!lb->configured[k] || member_key(lb->members[k].name) != want) continue;
          *lb->configured[k] = given.applied(*lb->configured[k]);
          found = true;
        }
        if (!found) {
          return std::string(line->where) + ": ISBalancerMemberSet names " + line->member +
                 ", which is not a BalancerMember of " + std::string(name) +
                 "; write the member's URL as its BalancerMember line has it";
        }
      }
    }
  }
  for (const auto& [line, used] : lines) {
    if (!used) {
      return std::string(line->where) + ": " +
             (line->member ? "ISBalancerMemberSet" : "ISBalancerSet") + " names " + line->balancer +
             ", which has no BalancerMember in this server or virtual host; define the "
             "balancer in the same place (<Proxy " +
             line->balancer + "> with BalancerMember lines)";
    }
  }
  return std::nullopt;
}

std::string own_settings_text(server_rec* main_server) {
  std::string text;
  for (server_rec* s = main_server; s != nullptr; s = s->next) {
    for (const OwnSettingsLine& line : own_lines_of(s)) {
      text += line.balancer;
      text += '\n';
      text += line.member ? line.member : "";
      text += '\n';
      for (const auto& f : edit_fields(MemberSettings{}, line.settings->member, true)) {
        text += f.name + '=' + f.value + '\n';
      }
      text += '\n';
    }
  }
  return text;
}

void* create_dir_config(apr_pool_t* p, char*) noexcept {
  auto* conf = static_cast<ManagerDirConfig*>(apr_pcalloc(p, sizeof(ManagerDirConfig)));
  conf->trusted_origins = nullptr;
  conf->script_edits = -1;
  return conf;
}

void* merge_dir_config(apr_pool_t* p, void* base_conf, void* add_conf) noexcept {
  const ManagerDirConfig* base = config_of(base_conf);
  const ManagerDirConfig* add = config_of(add_conf);
  auto* out = static_cast<ManagerDirConfig*>(apr_pcalloc(p, sizeof(ManagerDirConfig)));
  // A list given in a deeper section replaces the outer one, as a whole.
  out->trusted_origins = add->trusted_origins ? add->trusted_origins : base->trusted_origins;
  out->script_edits = add->script_edits >= 0 ? add->script_edits : base->script_edits;
  return out;
}

const command_rec kDirectives[] = {
    AP_INIT_ITERATE("ISBalancerManagerTrustedOrigin", as_cmd_func(add_trusted_origin), nullptr,
                    RSRC_CONF | ACCESS_CONF,
                    "Origins (scheme://host[:port]) besides the page's own from which "
                    "balancer-manager edits are accepted, e.g. a TLS-terminating proxy's"),
    AP_INIT_FLAG("ISBalancerManagerScriptEdits", as_cmd_func(set_script_edits), nullptr,
                 RSRC_CONF | ACCESS_CONF,
                 "On: accept balancer-manager edits that carry the nonce but no Origin, "
                 "Referer or Sec-Fetch-* header (scripts such as ansible's); default Off"),
    AP_INIT_RAW_ARGS("ISBalancerSet", as_cmd_func(set_own_settings), nullptr,
                     RSRC_CONF | ACCESS_CONF,
                     "[balancer://NAME] key=value ...: settings of ours for a balancer and "
                     "the default of each of its members (slowstart=SECONDS)"),
    AP_INIT_RAW_ARGS("ISBalancerMemberSet", as_cmd_func(set_own_settings),
                     const_cast<char*>("member"), RSRC_CONF | ACCESS_CONF,
                     "[balancer://NAME] MEMBER-URL key=value ...: settings of ours for one "
                     "member (slowstart=SECONDS)"),
    {},
};

OriginPolicy origin_policy(request_rec* r, std::vector<std::string>& storage) {
  const auto* conf = static_cast<const ManagerDirConfig*>(
      ap_get_module_config(r->per_dir_config, &isbalancer_module));
  storage.clear();
  OriginPolicy policy;
  if (conf == nullptr) return policy;
  if (conf->trusted_origins != nullptr) {
    const auto* items = reinterpret_cast<const char* const*>(conf->trusted_origins->elts);
    storage.assign(items, items + conf->trusted_origins->nelts);
  }
  policy.trusted = storage;
  policy.script_edits = conf->script_edits == 1;
  return policy;
}

}  // namespace isb::httpd

#include "directives.hpp"

#include <vector>

#include "core/config/own_settings.hpp"
#include "core/config/placement.hpp"
#include "core/manager/manager_edit.hpp"
#include "log_ids.hpp"
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

// core/config/placement.hpp decides from the enclosing sections' names.
const char* misplaced(cmd_parms* cmd) noexcept {
  try {
    std::vector<std::string_view> sections;
    for (const ap_directive_t* d = cmd->directive ? cmd->directive->parent : nullptr; d != nullptr;
         d = d->parent) {
      sections.emplace_back(d->directive);
    }
    const auto why =
        misplaced_manager_directive(cmd->cmd->name, sections, cmd->path ? cmd->path : "");
    return why ? apr_pstrdup(cmd->pool, why->c_str()) : nullptr;
  } catch (...) {
    return apr_psprintf(cmd->pool, "%s: out of memory", cmd->cmd->name);
  }
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

// Per-server configuration: the lines given in that server or virtual host.
struct ServerConfig {
  apr_array_header_t* own_lines;  // OwnSettingsLine, its text in the configuration pool
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

// ISBalancerSet and ISBalancerMemberSet (cmd->info says which): the words read
// by core/config/own_settings.hpp, all checked now so that httpd names the line.
const char* set_own_settings(cmd_parms* cmd, void*, const char* args) noexcept {
  const auto scope = cmd->info != nullptr ? SettingScope::kMember : SettingScope::kBalancer;
  const char* name = cmd->cmd->name;
  try {
    std::vector<std::string_view> words;
    while (*args != '\0') {
      const char* w = ap_getword_conf(cmd->pool, &args);
      if (*w != '\0') words.emplace_back(w);
    }
    auto* line = new OwnLine();
    apr_pool_cleanup_register(
        cmd->pool, line,
        [](void* p) -> apr_status_t {
          delete static_cast<OwnLine*>(p);
          return APR_SUCCESS;
        },
        apr_pool_cleanup_null);
    const auto section = cmd->path ? std::optional<std::string_view>(cmd->path) : std::nullopt;
    if (auto err = parse_own_line(name, scope, section, words, *line)) {
      return apr_pstrdup(cmd->pool, err->c_str());
    }
    ServerConfig* conf = server_config_of(cmd->server);
    if (conf->own_lines == nullptr) {
      conf->own_lines = apr_array_make(cmd->pool, 4, sizeof(OwnSettingsLine));
    }
    *static_cast<OwnSettingsLine*>(apr_array_push(conf->own_lines)) = OwnSettingsLine{
        apr_pstrmemdup(cmd->pool, line->balancer.data(), line->balancer.size()),
        // apr_pstrmemdup gives nullptr for an empty view's nullptr: "" instead.
        line->member.empty() ? ""
                             : apr_pstrmemdup(cmd->pool, line->member.data(), line->member.size()),
        &line->settings,
        apr_psprintf(cmd->pool, "%s:%d", cmd->directive ? cmd->directive->filename : "?",
                     cmd->directive ? cmd->directive->line_num : 0),
        cmd->server};
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

namespace {

std::vector<OwnSettingsLine> all_own_lines(server_rec* main_server) {
  std::vector<OwnSettingsLine> out;
  for (server_rec* s = main_server; s != nullptr; s = s->next) {
    for (const OwnSettingsLine& line : own_lines_of(s)) out.push_back(line);
  }
  return out;
}

}  // namespace

int check_config(apr_pool_t* /*pconf*/, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/,
                 server_rec* main_server) noexcept {
  try {
    const std::vector<OwnSettingsLine> lines = all_own_lines(main_server);
    module* proxy = ap_find_linked_module("mod_proxy.c");
    if (lines.empty() || proxy == nullptr) return OK;
    // mod_proxy's balancers as post_config will see them: each once, in the first
    // server that lists it (core/config/placement.hpp).
    struct Listing {
      const proxy_balancer* balancer;
      server_rec* server;
    };
    std::vector<Listing> listed;
    std::vector<const void*> identities;
    for (server_rec* s = main_server; s != nullptr; s = s->next) {
      auto* conf = static_cast<proxy_server_conf*>(ap_get_module_config(s->module_config, proxy));
      auto* bs = reinterpret_cast<proxy_balancer*>(conf->balancers->elts);
      for (int i = 0; i < conf->balancers->nelts; ++i) {
        listed.push_back({&bs[i], s});
        identities.push_back(bs[i].s);
      }
    }
    const std::vector<std::size_t> first = first_listings(identities);
    std::vector<std::vector<std::optional<MemberSettings>>> configured(first.size());
    std::vector<std::vector<std::string>> urls(first.size());
    std::vector<OwnSettings> defaults(first.size());
    std::vector<ConfiguredBalancer> balancers;
    for (std::size_t k = 0; k < first.size(); ++k) {
      const Listing& at = listed[first[k]];
      auto** ws = reinterpret_cast<proxy_worker**>(at.balancer->workers->elts);
      for (int j = 0; j < at.balancer->workers->nelts; ++j) {
        configured[k].emplace_back(MemberSettings{});
        urls[k].emplace_back(field(ws[j]->s->name_ex));
      }
      balancers.push_back(
          {field(at.balancer->s->name), at.server, configured[k], urls[k], &defaults[k]});
    }
    if (auto wrong = apply_own_lines(lines, balancers)) {
      ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_server, ISB_LOGNO(00048) "%s", wrong->c_str());
      return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
  } catch (const std::exception& e) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_server, ISB_LOGNO(00017) "check_config: %s",
                 e.what());
    return HTTP_INTERNAL_SERVER_ERROR;
  }
}

std::optional<std::string> apply_own_settings(server_rec* main_server) {
  auto& locals = local_balancers();
  std::vector<std::vector<std::string>> urls(locals.size());
  std::vector<ConfiguredBalancer> balancers;
  for (std::size_t i = 0; i < locals.size(); ++i) {
    LocalBalancer& lb = *locals[i];
    for (const LocalMember& m : lb.members) urls[i].push_back(m.name);
    balancers.push_back(
        {field(lb.main->s->name), lb.server, lb.configured, urls[i], &lb.member_defaults});
  }
  return apply_own_lines(all_own_lines(main_server), balancers);
}

std::string own_settings_text(server_rec* main_server) {
  return own_lines_text(all_own_lines(main_server));
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
                     "the default of each of its members (slowstart=, slowstartatstart=, "
                     "eject5xx=, ejectgateway=, "
                     "ejecttime=, ejectmaxtime=, ejectsessions=, ejectpercent=, retrybudget=, "
                     "retryfloor=)"),
    AP_INIT_RAW_ARGS("ISBalancerMemberSet", as_cmd_func(set_own_settings),
                     const_cast<char*>("member"), RSRC_CONF | ACCESS_CONF,
                     "[balancer://NAME] MEMBER-URL key=value ...: settings of ours for one "
                     "member (slowstart=, slowstartatstart=, eject5xx=, ejectgateway=, ejecttime=, "
                     "ejectmaxtime=, "
                     "ejectsessions=)"),
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

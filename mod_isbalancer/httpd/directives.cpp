#include "directives.hpp"

#include <strings.h>

#include <cstring>

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

}  // namespace

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

// The directives of our own. mod_proxy parses its balancer and member settings;
// these are the ones it has no place for.
//
// Where balancer-manager edits may come from: per-directory, beside SetHandler
// balancer-manager in its <Location>, or for a whole server or virtual host.
//
//   ISBalancerManagerTrustedOrigin scheme://host[:port] ...
//   ISBalancerManagerScriptEdits On|Off
//
// Our balancer and member settings (core/config/own_settings.hpp): in a
// <Proxy balancer://...> section, or naming the balancer first elsewhere.
//
//   ISBalancerSet [balancer://name] key=value ...
//   ISBalancerMemberSet [balancer://name] member-url key=value ...
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/manager/origin.hpp"
#include "httpd_includes.hpp"

namespace isb::httpd {

// Per-directory configuration; pool memory, so no C++ containers in it.
struct ManagerDirConfig {
  apr_array_header_t* trusted_origins;  // const char*, normalised; nullptr: not set here
  int script_edits;                     // -1: not set here; 0 Off; 1 On
};

void* create_dir_config(apr_pool_t* p, char* dir) noexcept;
void* merge_dir_config(apr_pool_t* p, void* base, void* add) noexcept;
void* create_server_config(apr_pool_t* p, server_rec* s) noexcept;
void* merge_server_config(apr_pool_t* p, void* base, void* add) noexcept;
extern const command_rec kDirectives[];

// check_config: every ISBalancerSet / ISBalancerMemberSet line names a balancer
// (and member) of its server, so that `apachectl -t` (and graceful, which runs
// it first) refuses what post_config would.
int check_config(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp,
                 server_rec* main_server) noexcept;

// Gives each balancer of `locals` the settings its ISBalancerSet and
// ISBalancerMemberSet lines give: the member defaults, and each configured
// member's own settings in `configured`. Returns what is wrong (a line that names
// no balancer or member of its server), for an emerg message, or nothing.
std::optional<std::string> apply_own_settings(server_rec* main_server);

// Every such line as text, for the configuration fingerprint: a changed line is
// a changed configuration. Empty when there are none.
std::string own_settings_text(server_rec* main_server);

// The origin policy in force for this request's location. `storage` keeps the
// trusted origins the policy's span points at.
OriginPolicy origin_policy(request_rec* r, std::vector<std::string>& storage);

}  // namespace isb::httpd

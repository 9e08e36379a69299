// The directives of our own. mod_proxy parses every balancer and member setting;
// these are the few it has no place for: where balancer-manager edits may come
// from. Both are per-directory, so they sit beside SetHandler balancer-manager in
// its <Location>, and may also be given for a whole server or virtual host.
//
//   ISBalancerManagerTrustedOrigin scheme://host[:port] ...
//   ISBalancerManagerScriptEdits On|Off
#pragma once

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
extern const command_rec kDirectives[];

// The origin policy in force for this request's location. `storage` keeps the
// trusted origins the policy's span points at.
OriginPolicy origin_policy(request_rec* r, std::vector<std::string>& storage);

}  // namespace isb::httpd

// Start-up and shutdown: conflict checks, mod_proxy lookup, the shared segment.
#pragma once

#include "httpd_includes.hpp"

namespace isb::httpd {

int pre_config(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp) noexcept;
int post_config(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* s) noexcept;
void child_init(apr_pool_t* p, server_rec* s) noexcept;
// Parent only, about every ten seconds (each tenth of httpd's one-second wake-ups): gives back the
// busy counts of children that died mid-request (the busy ledger in core/shm/shared_state.hpp).
int monitor(apr_pool_t* p, server_rec* s) noexcept;

}  // namespace isb::httpd

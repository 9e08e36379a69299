// The C-ABI shim: the module record and hook registration. Everything else is in
// lifecycle.cpp (start-up, shared memory), request_path.cpp (per request),
// manager_handler.cpp (the balancer-manager) and directives.cpp (our directives).
#include "directives.hpp"
#include "httpd_includes.hpp"
#include "lifecycle.hpp"
#include "manager_handler.hpp"
#include "request_path.hpp"

namespace {

void register_hooks(apr_pool_t* p) noexcept {
  using namespace isb::httpd;
  // Providers first: mod_proxy looks them up while it parses ProxySet lbmethod=.
  register_lbmethods(p);
  register_body_counter();
  static const char* const after_proxy[] = {"mod_proxy.c", nullptr};
  ap_hook_pre_config(&pre_config, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_check_config(&check_config, after_proxy, nullptr, APR_HOOK_MIDDLE);
  // Before mod_watchdog's: it starts the watchdogs post_config asked for.
  static const char* const before_watchdog[] = {"mod_watchdog.c", nullptr};
  ap_hook_post_config(&post_config, after_proxy, before_watchdog, APR_HOOK_MIDDLE);
  // After mod_proxy's child_init: initialising a member takes mod_proxy's global
  // mutex, which mod_proxy re-opens in its own child_init.
  ap_hook_child_init(&child_init, after_proxy, nullptr, APR_HOOK_MIDDLE);
  ap_hook_monitor(&monitor, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_handler(&manager_handler, nullptr, nullptr, APR_HOOK_FIRST);
  // The proxy_hook_* registrations happen in pre_config, once mod_proxy is loaded.
}

}  // namespace

extern "C" {
APLOG_USE_MODULE(isbalancer);

__attribute__((visibility("default"))) module AP_MODULE_DECLARE_DATA isbalancer_module = {
    STANDARD20_MODULE_STUFF,
    isb::httpd::create_dir_config,
    isb::httpd::merge_dir_config,
    isb::httpd::create_server_config,
    isb::httpd::merge_server_config,
    // mod_proxy parses its balancer settings; ours are the manager's and those
    // mod_proxy has no place for (directives.hpp).
    isb::httpd::kDirectives,
    register_hooks,
    AP_MODULE_FLAG_NONE,
};
}

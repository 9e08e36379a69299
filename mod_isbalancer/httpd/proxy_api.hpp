// mod_proxy's functions, looked up by name once mod_proxy is loaded.
//
// Debian loads mods-enabled/*.load in alphabetical order, so isbalancer.load
// comes before proxy.load. Linking against mod_proxy's symbols would make
// mod_isbalancer.so fail to load there; resolving them in pre_config, after every
// LoadModule has run, makes the load order irrelevant.
#pragma once

#include <string>

#include "httpd_includes.hpp"

namespace isb::httpd {

struct ProxyApi {
  module* proxy_module = nullptr;
  apr_status_t (*share_balancer)(proxy_balancer*, proxy_balancer_shared*, int) = nullptr;
  apr_status_t (*share_worker)(proxy_worker*, proxy_worker_shared*, int) = nullptr;
  apr_status_t (*initialize_worker)(proxy_worker*, server_rec*, apr_pool_t*) = nullptr;
  char* (*canon_netloc)(apr_pool_t*, char** const, char**, char**, char**, apr_port_t*) = nullptr;
  int (*canon_url)(request_rec*) = nullptr;
  // Optional: without them, member URLs go through canon_url (canon.hpp).
  char* (*canonenc_ex)(apr_pool_t*, const char*, int, enum enctype, int, int) = nullptr;
  apr_array_header_t* (*get_canon_handler)() = nullptr;
  char* (*define_worker)(apr_pool_t*, proxy_worker**, proxy_balancer*, proxy_server_conf*,
                         const char*, int) = nullptr;
  // mod_proxy_hcheck's method table (part of mod_proxy); may be absent.
  proxy_hcmethods_t* hcmethods = nullptr;
  void (*hook_pre_request)(proxy_HOOK_pre_request_t*, const char* const*, const char* const*,
                           int) = nullptr;
  void (*hook_post_request)(proxy_HOOK_post_request_t*, const char* const*, const char* const*,
                            int) = nullptr;
  void (*hook_canon_handler)(proxy_HOOK_canon_handler_t*, const char* const*, const char* const*,
                             int) = nullptr;
};

// Fills `api`; on failure `missing` names what could not be found.
bool resolve_proxy_api(ProxyApi& api, std::string& missing) noexcept;

// The process-wide copy, valid from pre_config on.
ProxyApi& proxy_api() noexcept;

}  // namespace isb::httpd

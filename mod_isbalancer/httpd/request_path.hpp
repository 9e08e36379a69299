// The per-request hooks for balancer:// URLs, and the lbmethod providers.
#pragma once

#include "httpd_includes.hpp"

namespace isb::httpd {

int canon_handler(request_rec* r, char* url) noexcept;
int pre_request(proxy_worker** worker, proxy_balancer** balancer, request_rec* r,
                proxy_server_conf* conf, char** url) noexcept;
int post_request(proxy_worker* worker, proxy_balancer* balancer, request_rec* r,
                 proxy_server_conf* conf) noexcept;

// Registers every method of selector_names() (byrequests, bybusyness, bytraffic,
// leastrequest, bylatency) in the "proxylbmethod" group.
void register_lbmethods(apr_pool_t* p) noexcept;
// Registers the input filter that counts a balanced request's body bytes, so that
// a failover knows whether part of the body is gone (request_path.cpp).
void register_body_counter() noexcept;
// Whether `method` is one of ours.
bool is_our_lbmethod(const proxy_balancer_method* method) noexcept;

}  // namespace isb::httpd

// The balancer-manager handler (SetHandler balancer-manager): a read-only view of
// every balancer of the virtual host, as HTML, JSON or Prometheus text.
#pragma once

#include "httpd_includes.hpp"

namespace isb::httpd {

int manager_handler(request_rec* r) noexcept;

}  // namespace isb::httpd

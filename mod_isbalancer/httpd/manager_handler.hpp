// The balancer-manager handler (SetHandler balancer-manager): every balancer of
// the virtual host as HTML, JSON, Prometheus text or stock's XML, and the edits
// posted to it.
#pragma once

#include "httpd_includes.hpp"

namespace isb::httpd {

int manager_handler(request_rec* r) noexcept;

}  // namespace isb::httpd

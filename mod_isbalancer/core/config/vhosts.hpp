// Virtual hosts at start-up: the scope (scope.hpp) of a virtual host as httpd
// describes it, and the balancers that no saved edit can tell apart.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/scope.hpp"

namespace isb {

// One address of a <VirtualHost> line, as httpd keeps it.
struct VhostAddress {
  std::string_view host;  // as written there; empty when httpd has none
  int port = 0;           // 0: any port ("*")
};

// The scope of a virtual host: vhost_scope() over its ServerName, its port and
// its addresses spelt "host:port", with an IPv6 address in brackets and "*" for
// any port.
std::string scope_of_vhost(std::string_view server_name, int port,
                           std::span<const VhostAddress> addresses);

// Balancers defined in more than one virtual host of the same scope: their saved
// edits would fit each of them, so none is restored (ISB00047 says so at start).
struct Twins {
  std::size_t first = 0;  // the first of them, an index into the balancers
  std::size_t count = 0;  // how many balancers the name fits in that scope (> 1)
};

// One Twins per group, at its first balancer, in the order of the balancers.
std::vector<Twins> find_twins(std::span<const ScopedBalancer> balancers);

}  // namespace isb

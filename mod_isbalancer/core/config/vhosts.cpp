#include "core/config/vhosts.hpp"

#include "core/text/host.hpp"

namespace isb {

std::string scope_of_vhost(std::string_view server_name, int port,
                           std::span<const VhostAddress> addresses) {
  std::vector<std::string> spelt;
  for (const VhostAddress& a : addresses) {
    std::string host;
    // An IPv6 address needs brackets before its port, as in a URL.
    const bool bare_ipv6 = a.host.find(':') != std::string_view::npos && a.host.front() != '[';
    if (bare_ipv6) host += '[';
    host += a.host;
    if (bare_ipv6) host += ']';
    host += ':';
    if (a.port != 0) {
      host += std::to_string(a.port);
    } else {
      host += '*';
    }
    spelt.push_back(std::move(host));
  }
  return vhost_scope(server_name, port, spelt);
}

std::vector<Twins> find_twins(std::span<const ScopedBalancer> balancers) {
  std::vector<Twins> out;
  for (std::size_t i = 0; i < balancers.size(); ++i) {
    const ScopedBalancer& b = balancers[i];
    // As many as a saved edit of this balancer would fit (match_scope).
    const std::size_t matches = match_scope(balancers, b.scope, b.name).matches;
    if (matches < 2) continue;
    // Once per group: at the first balancer of that scope and name.
    bool first = true;
    for (std::size_t j = 0; j < i && first; ++j) {
      first =
          !(balancers[j].scope == b.scope && lower_ascii(balancers[j].name) == lower_ascii(b.name));
    }
    if (first) out.push_back({i, matches});
  }
  return out;
}

}  // namespace isb

// Where the configuration puts things: the section a directive is written in,
// and the server that defines a balancer several servers list.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace isb {

// The balancer-manager's directives (ISBalancerManagerTrustedOrigin,
// ISBalancerManagerScriptEdits) belong with SetHandler balancer-manager: in its
// <Location>, or for the server or virtual host. In a <Proxy> section (any
// <Proxy...>, in any case) they would be accepted and never read. `sections`:
// the directives of the sections enclosing the line ("<Location", "<Proxy", ...),
// `path` the innermost one's argument. Returns the message httpd prints, or nothing.
std::optional<std::string> misplaced_manager_directive(std::string_view directive,
                                                       std::span<const std::string_view> sections,
                                                       std::string_view path);

// The servers list balancers as mod_proxy parsed them, in server order: a virtual
// host lists the main server's balancers too, as copies with the same identity.
// Returns the index of each balancer's first listing, in the order they are first
// met: the server that lists it first defines it.
std::vector<std::size_t> first_listings(std::span<const void* const> identities);

}  // namespace isb

// Host names as URLs and headers carry them: pure functions shared by the
// origin check (origin.cpp) and the member URL key (manager_edit.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace isb {

// `text` with A-Z as a-z (scheme and host names compare without case).
std::string lower_ascii(std::string_view text);

struct HostPort {
  std::string_view host;  // "[::1]" keeps its brackets
  std::string_view port;  // empty when there is none
};

// "host[:port]": the port follows the last ':' that is not inside an IPv6 literal.
HostPort split_host_port(std::string_view authority) noexcept;

// A bracketed IPv6 address in its one text form (RFC 5952, as browsers and
// inet_ntop write it: "[0:0::1]" is "[::1]"), or nullopt when it is not one.
std::optional<std::string> canonical_ipv6(std::string_view bracketed);

}  // namespace isb

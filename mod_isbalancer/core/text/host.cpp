#include "core/text/host.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace isb {

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

HostPort split_host_port(std::string_view authority) noexcept {
  const std::size_t bracket = authority.rfind(']');
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    return {authority.substr(0, colon), authority.substr(colon + 1)};
  }
  return {authority, {}};
}

std::optional<std::string> canonical_ipv6(std::string_view bracketed) {
  if (bracketed.size() < 4 || bracketed.size() > 47 || bracketed.front() != '[' ||
      bracketed.back() != ']') {
    return std::nullopt;
  }
  const std::string inner(bracketed.substr(1, bracketed.size() - 2));
  in6_addr addr{};
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET6, inner.c_str(), &addr) != 1 ||
      inet_ntop(AF_INET6, &addr, text, sizeof text) == nullptr) {
    return std::nullopt;
  }
  std::string out = "[";
  out += text;
  out += ']';
  return out;
}

}  // namespace isb

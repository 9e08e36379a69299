#include "core/config/placement.hpp"

#include <algorithm>

#include "core/text/host.hpp"

namespace isb {

std::optional<std::string> misplaced_manager_directive(std::string_view directive,
                                                       std::span<const std::string_view> sections,
                                                       std::string_view path) {
  constexpr std::string_view kProxy = "<proxy";
  const bool in_proxy = std::any_of(sections.begin(), sections.end(), [&](std::string_view d) {
    return lower_ascii(d.substr(0, kProxy.size())) == kProxy;
  });
  if (!in_proxy) return std::nullopt;
  std::string out(directive);
  out +=
      " belongs with SetHandler balancer-manager (in its <Location>, or for the server or "
      "virtual host), not in <Proxy ";
  out += path;
  out += ">";
  return out;
}

std::vector<std::size_t> first_listings(std::span<const void* const> identities) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < identities.size(); ++i) {
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](std::size_t j) { return identities[j] == identities[i]; });
    if (!seen) out.push_back(i);
  }
  return out;
}

}  // namespace isb

#include "core/config/scope.hpp"

#include <algorithm>
#include <vector>

#include "core/text/host.hpp"

namespace isb {
namespace {

void append_token(std::string& out, std::string_view part) {
  for (char c : part) out += (c == ' ' || c == '\t' || c == '\n' || c == '\r') ? '_' : c;
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower_ascii(a) == lower_ascii(b);
}

}  // namespace

std::string vhost_scope(std::string_view server_name, int port,
                        std::span<const std::string> addresses) {
  // Host names are case-insensitive and a <VirtualHost> line's addresses a set:
  // neither the spelling nor the order may move an edit to another scope.
  std::string name;
  append_token(name, server_name);
  name = lower_ascii(name);
  std::vector<std::string> sorted;
  for (const std::string& a : addresses) {
    std::string token;
    append_token(token, a);
    sorted.push_back(lower_ascii(token));
  }
  std::sort(sorted.begin(), sorted.end());
  std::string out = name;
  out += ':';
  out += std::to_string(port);
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    out += i == 0 ? ' ' : ',';
    out += sorted[i];
  }
  return out;
}

ScopeMatch match_scope(std::span<const ScopedBalancer> candidates, std::string_view scope,
                       std::string_view name) {
  ScopeMatch exact;
  ScopeMatch legacy;
  const bool old_form = scope.find(' ') == std::string_view::npos;
  // Older builds wrote the ServerName as configured; scopes are lower-case now.
  const std::string old_scope = old_form ? lower_ascii(scope) : std::string{};
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const ScopedBalancer& c = candidates[i];
    if (!same_name(c.name, name)) continue;
    if (c.scope == scope) {
      ++exact.matches;
      exact.index = i;
    } else if (old_form && c.scope.substr(0, c.scope.find(' ')) == old_scope) {
      ++legacy.matches;
      legacy.index = i;
    }
  }
  ScopeMatch& found = exact.matches > 0 ? exact : legacy;
  if (found.matches != 1) found.index.reset();
  return found;
}

}  // namespace isb

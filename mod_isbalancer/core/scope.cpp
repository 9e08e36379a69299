#include "scope.hpp"

#include <algorithm>
#include <vector>

namespace isb {
namespace {

void append_token(std::string& out, std::string_view part) {
  for (char c : part) out += (c == ' ' || c == '\t' || c == '\n' || c == '\r') ? '_' : c;
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string vhost_scope(std::string_view server_name, int port,
                        std::span<const std::string> addresses) {
  // Host names are case-insensitive and a <VirtualHost> line's addresses a set:
  // neither the spelling nor the order may move an edit to another scope.
  std::string name;
  append_token(name, server_name);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  std::vector<std::string> sorted;
  for (const std::string& a : addresses) {
    std::string token;
    append_token(token, a);
    std::transform(token.begin(), token.end(), token.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    sorted.push_back(std::move(token));
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
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const ScopedBalancer& c = candidates[i];
    if (!same_name(c.name, name)) continue;
    if (c.scope == scope) {
      ++exact.matches;
      exact.index = i;
    } else if (old_form && c.scope.substr(0, c.scope.find(' ')) == scope) {
      ++legacy.matches;
      legacy.index = i;
    }
  }
  ScopeMatch& found = exact.matches > 0 ? exact : legacy;
  if (found.matches != 1) found.index.reset();
  return found;
}

}  // namespace isb

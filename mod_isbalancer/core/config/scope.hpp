// Which virtual host's balancer a saved edit belongs to. Edits outlive a
// configuration generation (a graceful restart that changed the configuration,
// or the BalancerPersist state file), so they are keyed by text, not by pointer:
// the balancer's name plus its virtual host's scope.
//
// A scope names the virtual host by what tells virtual hosts apart: its
// ServerName and port, and the addresses of its <VirtualHost> line:
//
//   "same.example:0 *:18030"      <VirtualHost *:18030>, ServerName same.example
//   "same.example:0 *:18031"      the same name on another port: another scope
//   "front:0"                     the main server (no <VirtualHost> addresses)
//
// Scopes written before addresses were part of them ("same.example:0") are
// matched by that prefix, but only where exactly one balancer fits.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace isb {

// The scope of a virtual host: "name:port" (the name lower-cased), then a space
// and its addresses as "host:port", sorted and joined by ',', when it has any. Tabs, newlines and
// spaces inside the parts become '_' so that a scope is one token of the state file.
std::string vhost_scope(std::string_view server_name, int port,
                        std::span<const std::string> addresses);

// One balancer as a saved edit can name it.
struct ScopedBalancer {
  std::string_view scope;
  std::string_view name;  // without "balancer://"; compared without case, as mod_proxy does
};

struct ScopeMatch {
  std::optional<std::size_t> index;  // into the candidates
  std::size_t matches = 0;           // > 1: ambiguous, nothing is chosen
};

// The one candidate that `scope` and `name` name: by the whole scope, or, for a
// scope without addresses from an older state file, by its "name:port" part.
ScopeMatch match_scope(std::span<const ScopedBalancer> candidates, std::string_view scope,
                       std::string_view name);

}  // namespace isb

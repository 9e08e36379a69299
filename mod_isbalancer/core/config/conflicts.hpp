// The modules mod_isbalancer replaces. Loading one of them too would fight over
// the same hooks and lbmethod names, so the start is refused (ISB00001).
#pragma once

#include <optional>
#include <string_view>

namespace isb {

struct Conflict {
  const char* source;  // the module's source file name, as httpd links it
  const char* name;    // its name for a2dismod
};

inline constexpr Conflict kConflicts[] = {
    {"mod_proxy_balancer.c", "proxy_balancer"},
    {"mod_lbmethod_byrequests.c", "lbmethod_byrequests"},
    {"mod_lbmethod_bybusyness.c", "lbmethod_bybusyness"},
    {"mod_lbmethod_bytraffic.c", "lbmethod_bytraffic"},
    {"mod_lbmethod_heartbeat.c", "lbmethod_heartbeat"},
};

// The first module of kConflicts that `loaded(source)` says is loaded, if any.
template <class Loaded>
std::optional<Conflict> find_conflict(Loaded&& loaded) {
  for (const Conflict& c : kConflicts) {
    if (loaded(c.source)) return c;
  }
  return std::nullopt;
}

}  // namespace isb

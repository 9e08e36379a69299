// What the balancer-manager shows: a snapshot of every balancer and member,
// taken by the httpd layer from shared memory, then rendered by pure functions.
// The renderers never touch shared state, so a page is consistent per field and
// printing never holds anything up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace isb {

struct MemberSnapshot {
  std::string name;  // the member URL
  std::string route;
  std::string redirect;
  std::uint32_t status = 0;  // StatusBit flags
  int lbset = 0;
  std::int64_t weight = 0;  // loadfactor x 100, as mod_proxy stores it
  std::int64_t busy = 0;
  std::uint64_t elected = 0;
  std::uint64_t sticky = 0;
  std::uint64_t faults = 0;
  std::int64_t retries = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::int64_t error_time_us = 0;  // 0: never
  std::int64_t retry_us = 0;
};

struct BalancerSnapshot {
  std::string name;  // "balancer://..."
  std::string lbmethod;
  std::string sticky_cookie;
  std::string sticky_path;
  char sticky_separator = '.';
  bool nofailover = false;
  bool forcerecovery = true;
  int max_attempts = 0;
  std::int64_t timeout_us = 0;
  std::uint64_t unavailable = 0;
  std::vector<MemberSnapshot> members;
};

struct ManagerSnapshot {
  std::string server;       // the virtual host name
  std::int64_t now_us = 0;  // when it was taken
  std::vector<BalancerSnapshot> balancers;
};

// The member's status as stock's page spells it ("Init Ok ", "Init Dis ", ...).
std::string status_text(std::uint32_t status);

// Text escaped for HTML element content and attribute values.
std::string escape_html(std::string_view text);

std::string render_html(const ManagerSnapshot& snap);
// Schema "isbalancer.manager/1"; see README "balancer-manager".
std::string render_json(const ManagerSnapshot& snap);
// Prometheus text exposition format 0.0.4.
std::string render_prometheus(const ManagerSnapshot& snap);

}  // namespace isb

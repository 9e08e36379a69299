// What the balancer-manager shows: a snapshot of every balancer and member,
// taken by the httpd layer from shared memory, then rendered by pure functions.
// The renderers never touch shared state, so a page is consistent per field and
// printing never holds anything up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/manager/manager_edit.hpp"
#include "core/text/json.hpp"  // json_quote, declared here before core/text/json

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
  std::int64_t lbstatus = 0;  // byrequests' credit: stock's "Load" column
  std::uint64_t sticky = 0;
  std::uint64_t faults = 0;
  std::int64_t retries = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::int64_t error_time_us = 0;  // 0: never
  std::int64_t retry_us = 0;
  std::string scheme;
  std::string hostname;
  int port = 0;
  std::int64_t latency_ewma_us = 0;      // 0: no sample yet
  std::int64_t latency_estimate_us = 0;  // bylatency's peak estimate now; 0: none
  std::uint64_t latency_sum_us = 0;
  std::uint64_t latency_count = 0;
  // Slow start (health/slow_start.hpp): the weight now, and since when the member
  // has been in service (0: since before the shared segment; -1: it is not).
  std::int64_t effective_weight = 0;
  std::int64_t in_service_since_us = 0;
  // Outlier ejection (health/ejection.hpp): until when it is ejected (0: it is
  // not, or no more), times ejected and times the cap kept it in, and its
  // consecutive 5xx answers and gateway failures now.
  std::int64_t ejected_until_us = 0;
  std::uint64_t ejections = 0;
  std::uint64_t ejections_capped = 0;
  std::uint64_t consecutive_5xx = 0;
  std::uint64_t consecutive_gateway = 0;
  bool added = false;                // added at run time, not in the configuration
  std::vector<FieldChange> differs;  // runtime values that differ from the configuration
  MemberSettings settings;           // what the edit form starts from
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
  // The retry budget (policy/retry_budget.hpp); its settings are in `settings`:
  // requests and failovers in flight, failovers let through, and refused because
  // the budget was spent or because the body could not be sent again.
  std::int64_t in_flight = 0;
  std::int64_t retries_in_flight = 0;
  std::uint64_t retries = 0;
  std::uint64_t retries_refused = 0;
  std::uint64_t unsafe_retries_refused = 0;
  std::string nonce;  // needed by every edit of this balancer
  bool persist = false;
  std::uint64_t edits = 0;
  std::uint32_t free_slots = 0;
  std::vector<FieldChange> differs;
  std::vector<std::string> removed;  // configured members removed at run time
  BalancerSettings settings;         // what the edit form starts from
  std::vector<MemberSnapshot> members;
};

struct ManagerSnapshot {
  std::string server;          // the virtual host name
  std::string server_version;  // httpd's, as stock's page shows it ("Apache/2.4.71 (Debian)")
  std::string server_built;
  std::int64_t now_us = 0;  // when it was taken
  std::vector<BalancerSnapshot> balancers;
  // For the HTML page only:
  std::string action;        // the page's own path, where forms post
  std::string script_nonce;  // CSP nonce of the page's one inline script
  std::vector<std::string> lbmethods;
  bool health_checks = false;  // show the mod_proxy_hcheck fields
  std::vector<std::string> hc_methods;
  std::string notice;  // the outcome of the edit just applied, if any
  // Stock's ?b=NAME (&w=URL) links select one balancer's (member's) edit form:
  // the page then shows that form alone, above the tables. Empty: every form.
  // The handler checks that what they name exists.
  std::string selected_balancer;  // without "balancer://"
  std::string selected_member;
};

// The member's status as stock's page spells it ("Init Ok ", "Init Dis ", ...).
std::string status_text(std::uint32_t status);

// Text escaped for HTML element content and attribute values.
std::string escape_html(std::string_view text);

// The page keeps what scripts written for stock's page read (ansible's
// apache2_mod_proxy, httpd's own tests): "Server Version: Apache/2.4..."; each
// balancer's ?b=...&nonce=... link as its first <a>; then only members'
// ?b=...&w=...&nonce=... links as <a> (the other views are reached through a
// GET form); the member table as the balancer's second <table>, stock's columns
// first, with stock's status words.
std::string render_html(const ManagerSnapshot& snap);

// The short name of "balancer://name".
std::string short_balancer_name(std::string_view balancer);
// Schema "isbalancer.manager/1"; see docs/manager.md.
std::string render_json(const ManagerSnapshot& snap);
// Prometheus text exposition format 0.0.4.
std::string render_prometheus(const ManagerSnapshot& snap);
// Stock's xml=1 view (namespace http://httpd.apache.org), nonce included.
std::string render_xml(const ManagerSnapshot& snap);

}  // namespace isb

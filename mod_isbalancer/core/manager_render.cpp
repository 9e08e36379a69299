// Renderers of the balancer-manager snapshot: HTML, JSON and Prometheus text.
// Every string that came from configuration or a request is escaped for the
// format it is printed in.
#include <array>
#include <cinttypes>
#include <cstdio>
#include <type_traits>

#include "manager_model.hpp"
#include "status.hpp"

namespace isb {
namespace {

struct Flag {
  std::uint32_t bit;
  const char* stock_name;  // as stock's page prints it
  const char* json_name;
};

constexpr std::array<Flag, 12> kFlags = {{
    {kInitialized, "Init ", "initialized"},
    {kIgnoreErrors, "Ign ", "ignore_errors"},
    {kDrain, "Drn ", "drain"},
    {kGeneric, "Gen ", "generic"},
    {kInShutdown, "Shut ", "shutdown"},
    {kDisabled, "Dis ", "disabled"},
    {kStopped, "Stop ", "stopped"},
    {kInError, "Err ", "error"},
    {kHotStandby, "Stby ", "hot_standby"},
    {kHotSpare, "Spar ", "hot_spare"},
    {kFree, "Free ", "free"},
    {kHcFail, "HcFl ", "hcheck_failed"},
}};

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%" PRId64, v);
  out.append(buf, static_cast<std::size_t>(n));
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%" PRIu64, v);
  out.append(buf, static_cast<std::size_t>(n));
}

// loadfactor as configured: mod_proxy stores it x100.
void append_loadfactor(std::string& out, std::int64_t weight) {
  append_int(out, weight / 100);
  if (weight % 100 != 0) {
    char buf[8];
    int n = std::snprintf(buf, sizeof buf, ".%02" PRId64, weight % 100);
    out.append(buf, static_cast<std::size_t>(n));
  }
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f || c == '<' || c == '>' || c == '&') {
          // Also escapes markup so the JSON is safe to embed in a page.
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else if (u >= 0x80) {
          // Configuration strings are ASCII in practice; anything else is shown
          // as U+FFFD rather than risking invalid UTF-8 in the document.
          out += "\\ufffd";
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Prometheus label values: backslash, double quote and newline are escaped.
void append_label(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string short_name(std::string_view balancer) {
  constexpr std::string_view kPrefix = "balancer://";
  if (balancer.substr(0, kPrefix.size()) == kPrefix) balancer.remove_prefix(kPrefix.size());
  return std::string(balancer);
}

}  // namespace

std::string status_text(std::uint32_t status) {
  std::string out;
  for (const Flag& f : kFlags) {
    if ((status & f.bit) != 0) out += f.stock_name;
  }
  if (out.empty()) out = "??? ";
  if (is_usable(status)) out += "Ok ";
  return out;
}

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_html(const ManagerSnapshot& snap) {
  std::string out;
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>Balancer Manager</title>\n"
      "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;"
      "margin-bottom:1.5em}th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left}"
      "th{background:#eee}.ok{color:#070}.down{color:#b00;font-weight:bold}</style>\n"
      "</head><body>\n<h1>Load Balancer Manager for ";
  out += escape_html(snap.server);
  out +=
      "</h1>\n<p>Read-only in this version; machine-readable: <a href=\"?format=json\">JSON</a>, "
      "<a href=\"?format=prometheus\">Prometheus</a>.</p>\n";
  for (const BalancerSnapshot& b : snap.balancers) {
    out += "<h2>LoadBalancer Status for ";
    out += escape_html(b.name);
    out +=
        "</h2>\n<table><tr><th>LB Method</th><th>StickySession</th><th>Failover</th>"
        "<th>Maxattempts</th><th>Timeout</th><th>Unavailable</th></tr>\n<tr><td>";
    out += escape_html(b.lbmethod);
    out += "</td><td>";
    out += b.sticky_cookie.empty() ? "(None)" : escape_html(b.sticky_cookie);
    if (!b.sticky_path.empty() && b.sticky_path != b.sticky_cookie) {
      out += " | " + escape_html(b.sticky_path);
    }
    out += "</td><td>";
    out += b.nofailover ? "Off" : "On";
    out += "</td><td>";
    append_int(out, b.max_attempts);
    out += "</td><td>";
    append_int(out, b.timeout_us / 1000000);
    out += "</td><td>";
    append_uint(out, b.unavailable);
    out +=
        "</td></tr></table>\n<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th>"
        "<th>Factor</th><th>Set</th><th>Status</th><th>Busy</th><th>Elected</th><th>Sticky</th>"
        "<th>Faults</th><th>To</th><th>From</th></tr>\n";
    for (const MemberSnapshot& m : b.members) {
      const bool up = is_usable(m.status);
      out += "<tr><td>";
      out += escape_html(m.name);
      out += "</td><td>";
      out += escape_html(m.route);
      out += "</td><td>";
      out += escape_html(m.redirect);
      out += "</td><td>";
      append_loadfactor(out, m.weight);
      out += "</td><td>";
      append_int(out, m.lbset);
      out += up ? "</td><td class=\"ok\">" : "</td><td class=\"down\">";
      out += escape_html(status_text(m.status));
      out += "</td><td>";
      append_int(out, m.busy);
      out += "</td><td>";
      append_uint(out, m.elected);
      out += "</td><td>";
      append_uint(out, m.sticky);
      out += "</td><td>";
      append_uint(out, m.faults);
      out += "</td><td>";
      append_uint(out, m.bytes_sent);
      out += "</td><td>";
      append_uint(out, m.bytes_received);
      out += "</td></tr>\n";
    }
    out += "</table>\n";
  }
  out += "</body></html>\n";
  return out;
}

std::string render_json(const ManagerSnapshot& snap) {
  std::string out = "{\"schema\":\"isbalancer.manager/1\",\"server\":";
  append_json_string(out, snap.server);
  out += ",\"time_us\":";
  append_int(out, snap.now_us);
  out += ",\"balancers\":[";
  bool first_b = true;
  for (const BalancerSnapshot& b : snap.balancers) {
    if (!first_b) out += ',';
    first_b = false;
    out += "{\"name\":";
    append_json_string(out, b.name);
    out += ",\"lbmethod\":";
    append_json_string(out, b.lbmethod);
    out += ",\"sticky\":{\"cookie\":";
    append_json_string(out, b.sticky_cookie);
    out += ",\"path\":";
    append_json_string(out, b.sticky_path);
    out += ",\"separator\":";
    append_json_string(out, b.sticky_separator ? std::string(1, b.sticky_separator) : "");
    out += "},\"nofailover\":";
    out += b.nofailover ? "true" : "false";
    out += ",\"forcerecovery\":";
    out += b.forcerecovery ? "true" : "false";
    out += ",\"maxattempts\":";
    append_int(out, b.max_attempts);
    out += ",\"timeout_us\":";
    append_int(out, b.timeout_us);
    out += ",\"unavailable\":";
    append_uint(out, b.unavailable);
    out += ",\"members\":[";
    bool first_m = true;
    for (const MemberSnapshot& m : b.members) {
      if (!first_m) out += ',';
      first_m = false;
      out += "{\"name\":";
      append_json_string(out, m.name);
      out += ",\"route\":";
      append_json_string(out, m.route);
      out += ",\"redirect\":";
      append_json_string(out, m.redirect);
      out += ",\"usable\":";
      out += is_usable(m.status) ? "true" : "false";
      out += ",\"status\":{";
      bool first_f = true;
      for (const Flag& f : kFlags) {
        if (!first_f) out += ',';
        first_f = false;
        out += '"';
        out += f.json_name;
        out += "\":";
        out += (m.status & f.bit) != 0 ? "true" : "false";
      }
      out += "},\"loadfactor\":";
      append_loadfactor(out, m.weight);
      out += ",\"lbset\":";
      append_int(out, m.lbset);
      out += ",\"busy\":";
      append_int(out, m.busy);
      out += ",\"elected\":";
      append_uint(out, m.elected);
      out += ",\"sticky\":";
      append_uint(out, m.sticky);
      out += ",\"faults\":";
      append_uint(out, m.faults);
      out += ",\"retries\":";
      append_int(out, m.retries);
      out += ",\"bytes_sent\":";
      append_uint(out, m.bytes_sent);
      out += ",\"bytes_received\":";
      append_uint(out, m.bytes_received);
      out += ",\"error_time_us\":";
      append_int(out, m.error_time_us);
      out += ",\"retry_us\":";
      append_int(out, m.retry_us);
      out += '}';
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

std::string render_prometheus(const ManagerSnapshot& snap) {
  std::string out;
  struct Metric {
    const char* name;
    const char* type;
    const char* help;
  };
  auto header = [&out](const Metric& m) {
    out += "# HELP ";
    out += m.name;
    out += ' ';
    out += m.help;
    out += "\n# TYPE ";
    out += m.name;
    out += ' ';
    out += m.type;
    out += '\n';
  };
  auto member_labels = [&out](const BalancerSnapshot& b, const MemberSnapshot& m) {
    out += "{balancer=";
    append_label(out, short_name(b.name));
    out += ",member=";
    append_label(out, m.name);
    out += ",route=";
    append_label(out, m.route);
    out += "} ";
  };
  auto member_metric = [&](const Metric& metric, auto value_of) {
    header(metric);
    for (const BalancerSnapshot& b : snap.balancers) {
      for (const MemberSnapshot& m : b.members) {
        out += metric.name;
        member_labels(b, m);
        out += value_of(m);
        out += '\n';
      }
    }
  };
  auto num = [](auto v) {
    std::string s;
    if constexpr (std::is_signed_v<decltype(v)>) {
      append_int(s, v);
    } else {
      append_uint(s, v);
    }
    return s;
  };
  member_metric(
      {"isbalancer_member_up", "gauge", "1 if the member can take requests, else 0."},
      [&](const MemberSnapshot& m) { return std::string(is_usable(m.status) ? "1" : "0"); });
  member_metric({"isbalancer_member_busy", "gauge", "Requests in flight on the member."},
                [&](const MemberSnapshot& m) { return num(m.busy); });
  member_metric({"isbalancer_member_weight", "gauge", "The member's loadfactor."},
                [&](const MemberSnapshot& m) {
                  std::string s;
                  append_loadfactor(s, m.weight);
                  return s;
                });
  member_metric({"isbalancer_member_elected_total", "counter",
                 "Requests sent to the member (new sessions and sticky)."},
                [&](const MemberSnapshot& m) { return num(m.elected); });
  member_metric({"isbalancer_member_sticky_total", "counter",
                 "Requests sent to the member because they carried its route."},
                [&](const MemberSnapshot& m) { return num(m.sticky); });
  member_metric({"isbalancer_member_faults_total", "counter",
                 "Times failonstatus or failontimeout put the member into error."},
                [&](const MemberSnapshot& m) { return num(m.faults); });
  member_metric({"isbalancer_member_sent_bytes_total", "counter", "Bytes sent to the member."},
                [&](const MemberSnapshot& m) { return num(m.bytes_sent); });
  member_metric(
      {"isbalancer_member_received_bytes_total", "counter", "Bytes received from the member."},
      [&](const MemberSnapshot& m) { return num(m.bytes_received); });
  header({"isbalancer_balancer_unavailable_total", "counter",
          "Requests answered 503 because no member could take them."});
  for (const BalancerSnapshot& b : snap.balancers) {
    out += "isbalancer_balancer_unavailable_total{balancer=";
    append_label(out, short_name(b.name));
    out += "} ";
    append_uint(out, b.unavailable);
    out += '\n';
  }
  return out;
}

}  // namespace isb

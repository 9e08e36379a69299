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
  // One table cell; `text` is already escaped or a number.
  auto td = [&out](std::string_view text, const char* cls = nullptr) {
    out += cls ? "<td class=\"" : "<td>";
    if (cls) {
      out += cls;
      out += "\">";
    }
    out += text;
    out += "</td>";
  };
  auto num = [](auto v) { return std::to_string(v); };
  for (const BalancerSnapshot& b : snap.balancers) {
    out += "<h2>LoadBalancer Status for ";
    out += escape_html(b.name);
    out +=
        "</h2>\n<table><tr><th>LB Method</th><th>StickySession</th><th>Failover</th>"
        "<th>Maxattempts</th><th>Timeout</th><th>Unavailable</th></tr>\n<tr>";
    std::string sticky = b.sticky_cookie.empty() ? "(None)" : escape_html(b.sticky_cookie);
    if (!b.sticky_path.empty() && b.sticky_path != b.sticky_cookie) {
      sticky += " | " + escape_html(b.sticky_path);
    }
    td(escape_html(b.lbmethod));
    td(sticky);
    td(b.nofailover ? "Off" : "On");
    td(num(b.max_attempts));
    td(num(b.timeout_us / 1000000));
    td(num(b.unavailable));
    out +=
        "</tr></table>\n<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th>"
        "<th>Factor</th><th>Set</th><th>Status</th><th>Busy</th><th>Elected</th><th>Sticky</th>"
        "<th>Faults</th><th>To</th><th>From</th></tr>\n";
    for (const MemberSnapshot& m : b.members) {
      std::string factor;
      append_loadfactor(factor, m.weight);
      out += "<tr>";
      td(escape_html(m.name));
      td(escape_html(m.route));
      td(escape_html(m.redirect));
      td(factor);
      td(num(m.lbset));
      td(escape_html(status_text(m.status)), is_usable(m.status) ? "ok" : "down");
      td(num(m.busy));
      td(num(m.elected));
      td(num(m.sticky));
      td(num(m.faults));
      td(num(m.bytes_sent));
      td(num(m.bytes_received));
      out += "</tr>\n";
    }
    out += "</table>\n";
  }
  out += "</body></html>\n";
  return out;
}

namespace {

// Writes one JSON object's members, with the commas between them.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
  void close() { out_ += '}'; }

  JsonObject& str(const char* key, std::string_view v) {
    name(key);
    append_json_string(out_, v);
    return *this;
  }
  JsonObject& num(const char* key, std::int64_t v) {
    name(key);
    append_int(out_, v);
    return *this;
  }
  JsonObject& unum(const char* key, std::uint64_t v) {
    name(key);
    append_uint(out_, v);
    return *this;
  }
  JsonObject& boolean(const char* key, bool v) {
    name(key);
    out_ += v ? "true" : "false";
    return *this;
  }
  // The member's value is written next, by the caller.
  std::string& name(const char* key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += key;
    out_ += "\":";
    return out_;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

// "[item,item,...]", each item written by `write(out, item)`.
template <class T, class Write>
void append_array(std::string& out, const std::vector<T>& items, Write write) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    write(out, items[i]);
  }
  out += ']';
}

void member_json(std::string& out, const MemberSnapshot& m) {
  JsonObject o(out);
  o.str("name", m.name).str("route", m.route).str("redirect", m.redirect);
  o.boolean("usable", is_usable(m.status));
  o.name("status");
  JsonObject flags(out);
  for (const Flag& f : kFlags) flags.boolean(f.json_name, (m.status & f.bit) != 0);
  flags.close();
  append_loadfactor(o.name("loadfactor"), m.weight);
  o.num("lbset", m.lbset).num("busy", m.busy).unum("elected", m.elected);
  o.unum("sticky", m.sticky).unum("faults", m.faults).num("retries", m.retries);
  o.unum("bytes_sent", m.bytes_sent).unum("bytes_received", m.bytes_received);
  o.num("error_time_us", m.error_time_us).num("retry_us", m.retry_us);
  o.close();
}

void balancer_json(std::string& out, const BalancerSnapshot& b) {
  JsonObject o(out);
  o.str("name", b.name).str("lbmethod", b.lbmethod);
  o.name("sticky");
  JsonObject sticky(out);
  sticky.str("cookie", b.sticky_cookie).str("path", b.sticky_path);
  sticky.str("separator", b.sticky_separator ? std::string(1, b.sticky_separator) : "");
  sticky.close();
  o.boolean("nofailover", b.nofailover).boolean("forcerecovery", b.forcerecovery);
  o.num("maxattempts", b.max_attempts).num("timeout_us", b.timeout_us);
  o.unum("unavailable", b.unavailable);
  append_array(o.name("members"), b.members, member_json);
  o.close();
}

}  // namespace

std::string render_json(const ManagerSnapshot& snap) {
  std::string out;
  JsonObject o(out);
  o.str("schema", "isbalancer.manager/1").str("server", snap.server).num("time_us", snap.now_us);
  append_array(o.name("balancers"), snap.balancers, balancer_json);
  o.close();
  out += '\n';
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

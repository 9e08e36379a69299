// Renderers of the balancer-manager snapshot: HTML, JSON and Prometheus text.
// Every string that came from configuration or a request is escaped for the
// format it is printed in.
#include <array>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <type_traits>

#include "core/manager/manager_model.hpp"
#include "core/member/status.hpp"
#include "core/text/json.hpp"

namespace isb {
namespace {

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

}  // namespace

std::string short_balancer_name(std::string_view balancer) {
  constexpr std::string_view kPrefix = "balancer://";
  if (balancer.substr(0, kPrefix.size()) == kPrefix) balancer.remove_prefix(kPrefix.size());
  return std::string(balancer);
}

std::string status_text(std::uint32_t status) {
  std::string out;
  for (const StatusFlag& f : kStatusFlags) {
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

namespace {

// "Failovers: N (refused: budget M, body K)"; the page's script writes the same.
std::string failovers_text(const BalancerSnapshot& b) {
  std::string out = "Failovers: ";
  append_uint(out, b.retries);
  out += " (refused: budget ";
  append_uint(out, b.retries_refused);
  out += ", body ";
  append_uint(out, b.unsafe_retries_refused);
  out += ')';
  return out;
}

// The page's one script: every few seconds it fetches ?format=json and updates
// the cells marked data-k, without reloading (so a half-filled form survives).
constexpr const char* kRefreshScript = R"JS(
(function () {
  var every = 3000, stamp = document.getElementById('refreshed');
  function cell(b, m, k) {
    return document.querySelector('[data-b="' + CSS.escape(b) + '"][data-m="' + CSS.escape(m) +
                                  '"] [data-k="' + k + '"]');
  }
  function put(el, text) { if (el && el.textContent !== String(text)) el.textContent = text; }
  function refresh() {
    fetch(window.location.pathname + '?format=json', {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (doc) {
        doc.balancers.forEach(function (b) {
          put(document.querySelector('[data-bal="' + CSS.escape(b.name) + '"] [data-k="unavailable"]'),
              b.unavailable);
          var rb = b.retry_budget;
          put(document.querySelector('[data-bal="' + CSS.escape(b.name) + '"] [data-k="failovers"]'),
              'Failovers: ' + rb.retries + ' (refused: budget ' + rb.refused + ', body ' +
              rb.unsafe_refused + ')');
          b.members.forEach(function (m) {
            var row = document.querySelector('[data-b="' + CSS.escape(b.name) + '"][data-m="' +
                                             CSS.escape(m.name) + '"]');
            if (!row) return;
            put(cell(b.name, m.name, 'status'), m.status_text);
            var st = cell(b.name, m.name, 'status');
            if (st) st.className = m.usable && !m.ejected ? 'ok' : 'down';
            ['route', 'redirect', 'loadfactor', 'lbset', 'busy', 'elected', 'lbstatus', 'sticky',
             'faults', 'bytes_sent', 'bytes_received'].forEach(function (k) { put(cell(b.name, m.name, k), m[k]); });
            put(cell(b.name, m.name, 'loadfactor'), m.loadfactor === m.effective_loadfactor ?
                String(m.loadfactor) : m.loadfactor + ' (now ' + m.effective_loadfactor + ')');
            put(cell(b.name, m.name, 'latency'),
                m.latency.ewma_ms === null ? '-' : m.latency.ewma_ms.toFixed(1));
            put(cell(b.name, m.name, 'failing'), m.consecutive_5xx + ' / ' + m.consecutive_gateway);
            var ej = m.ejected ? 'until ' + new Date(m.ejected_until_us / 1000).toISOString()
                .replace('T', ' ').slice(0, 19) + ' UTC' : 'no';
            if (m.ejections) ej += ' (' + m.ejections + (m.ejections === 1 ? ' time)' : ' times)');
            put(cell(b.name, m.name, 'ejected'), ej);
            var ejc = cell(b.name, m.name, 'ejected');
            if (ejc) ejc.className = m.ejected ? 'down' : '';
          });
        });
        put(stamp, 'updated ' + new Date().toLocaleTimeString());
        stamp.className = 'fresh';
      })
      .catch(function (e) { put(stamp, 'refresh failed (' + e.message + ')'); stamp.className = 'down'; })
      .finally(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
)JS";

// The edit form lists the operator's flags in stock's form order. A letter that is
// not a flag fails to compile here.
constexpr std::array<StatusFlag, 7> kFormFlags = [] {
  constexpr std::string_view order = "INDHRSC";
  std::array<StatusFlag, 7> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = *find_status_flag(order[i]);
  return out;
}();
static_assert(
    [] {
      std::uint32_t bits = 0;
      for (const StatusFlag& f : kFormFlags) bits |= f.bit;
      return bits == kAdminBits;
    }(),
    "the form lists every operator flag");

// The page's Factor cell: the loadfactor, and while slow start holds it lower,
// what it is now; the page's script writes the same from the JSON.
std::string factor_text(const std::string& configured, const std::string& now) {
  return configured == now ? configured : configured + " (now " + now + ")";
}

// The page's Failing cell: consecutive 5xx answers / gateway failures; the
// script writes the same from the JSON.
std::string failing_text(std::uint64_t fives, std::uint64_t gateways) {
  std::string out = std::to_string(fives);
  out += " / ";
  out += std::to_string(gateways);
  return out;
}

std::string format_time_us(std::int64_t us) {
  if (us <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// The page's Ejected cell: "until 2026-12-03 17:40:02 UTC (2 times)" while
// ejected, else "no" and how often it was; the script writes the same from the
// JSON.
std::string ejected_text(std::int64_t until_us, std::uint64_t times) {
  std::string out;
  if (until_us != 0) {
    out = "until ";
    out += format_time_us(until_us);
  } else {
    out = "no";
  }
  if (times != 0) {
    out += " (";
    out += std::to_string(times);
    out += times == 1 ? " time)" : " times)";
  }
  return out;
}

// A configuration value in a "differs" note: escaped, and visible when empty.
std::string shown(std::string_view value) {
  return value.empty() ? std::string("(none)") : escape_html(value);
}

std::string latency_ms(std::int64_t ewma_us) {
  if (ewma_us <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(ewma_us) / 1000.0);
  return buf;
}

}  // namespace

std::string render_html(const ManagerSnapshot& snap) {
  std::string out;
  const std::string action = escape_html(snap.action);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>Balancer Manager</title>\n";
  // The other views, for tools that look for them; not <a> (see manager_model.hpp).
  for (const char* view : {"json\" type=\"application/json", "prometheus\" type=\"text/plain",
                           "xml\" type=\"text/xml"}) {
    out += "<link rel=\"alternate\" href=\"" + action + "?format=" + view + "\">\n";
  }
  out +=
      "<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
      "table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;"
      "padding:.25em .55em;text-align:left}th{background:#f0f0f0}td.n{text-align:right}"
      ".ok{color:#075f07}.down{color:#b00;font-weight:bold}.diff{background:#fff4c2}"
      ".fresh{color:#555}form.edit{display:flex;flex-wrap:wrap;gap:.4em 1em;align-items:center;"
      "margin:.3em 0}fieldset{border:1px solid #ccc;margin:.4em 0}label{white-space:nowrap}"
      "details{margin:.2em 0}.notice{background:#e8f5e9;border:1px solid #9c9;padding:.4em}"
      ".selected{border:2px solid #4a7bd0;padding:.2em 1em;margin:1em 0}dl{margin:.3em 0}"
      ".views{font-size:.85em;color:#555}.views "
      "form{display:inline}small{color:#555}</style>\n</head><body>\n"
      "<h1>Load Balancer Manager for ";
  out += escape_html(snap.server);
  out += "</h1>\n<dl><dt>Server Version: ";
  out += escape_html(snap.server_version);
  out += "</dt>\n<dt>Server Built: ";
  out += escape_html(snap.server_built);
  out += "</dt>\n<dt>Balancer changes will ";
  const bool persist = !snap.balancers.empty() && snap.balancers.front().persist;
  out += persist ? "" : "NOT ";
  out += "be persisted on restart.</dt></dl>\n<div class=\"views\"><form method=\"get\" action=\"";
  out += action;
  out +=
      "\">Machine-readable: <button name=\"format\" value=\"json\">JSON</button> "
      "<button name=\"format\" value=\"prometheus\">Prometheus</button> "
      "<button name=\"format\" value=\"xml\">XML</button></form> &middot; "
      "<span id=\"refreshed\" class=\"fresh\">live values refresh every 3 s</span></div>\n";
  if (!snap.notice.empty()) {
    out += "<p class=\"notice\" role=\"status\">";
    out += escape_html(snap.notice);
    out += "</p>\n";
  }
  auto td = [&out](std::string_view text, const char* cls = nullptr, const char* key = nullptr) {
    out += "<td";
    if (cls) {
      out += " class=\"";
      out += cls;
      out += '"';
    }
    if (key) {
      out += " data-k=\"";
      out += key;
      out += '"';
    }
    out += '>';
    out += text;
    out += "</td>";
  };
  auto num = [](auto v) { return std::to_string(v); };
  auto hidden = [&out](const char* name, std::string_view value) {
    out += "<input type=\"hidden\" name=\"";
    out += name;
    out += "\" value=\"";
    out += escape_html(value);
    out += "\">";
  };
  // An edit form's start: where it posts, and the balancer, member and nonce.
  auto form_open = [&](const std::string& balancer, const std::string* member,
                       std::string_view nonce) {
    out += "<form class=\"edit\" method=\"post\" action=\"";
    out += action;
    out += "\">";
    hidden("b", balancer);
    if (member != nullptr) hidden("w", *member);
    hidden("nonce", nonce);
  };
  auto input = [&out](const char* label, const char* name, std::string_view value,
                      const char* extra) {
    out += "<label>";
    out += label;
    out += " <input name=\"";
    out += name;
    out += "\" value=\"";
    out += escape_html(value);
    out += "\" ";
    out += extra;
    out += "></label>";
  };
  // A setting that is off or on, as a two-option select; `words` are the
  // options' text for 0 and 1 ("off|on").
  auto select01 = [&out](std::string_view label, std::string_view name, bool on,
                         std::string_view words) {
    const std::size_t bar = words.find('|');
    out += "<label>";
    out += label;
    out += " <select name=\"";
    out += name;
    out += "\"><option value=\"0\"";
    out += on ? "" : " selected";
    out += ">";
    out += words.substr(0, bar);
    out += "</option><option value=\"1\"";
    out += on ? " selected" : "";
    out += ">";
    out += words.substr(bar + 1);
    out += "</option></select></label> ";
  };
  auto select_list = [&out](std::string_view label, std::string_view name,
                            const std::vector<std::string>& options, std::string_view current) {
    out += "<label>";
    out += label;
    out += " <select name=\"";
    out += name;
    out += "\">";
    for (const std::string& option : options) {
      out += "<option";
      out += option == current ? " selected" : "";
      out += ">";
      out += escape_html(option);
      out += "</option>";
    }
    out += "</select></label> ";
  };
  // One setting's input, as its schema entry (core/config/schema.hpp) describes it.
  auto setting_input = [&](const auto& f, const auto& values) {
    const std::string label(f.label);
    const std::string name(f.form);
    std::string attrs = "size=\"" + std::to_string(f.width) + '"';
    switch (f.kind) {
      case FieldKind::kStatus:
        out += "<fieldset><legend>Status</legend>";
        for (const StatusFlag& flag : kFormFlags) {
          if (flag.bit == kHcFail && !snap.health_checks) continue;
          select01(std::string(flag.label) + ":", name + flag.letter,
                   (values.*f.bits & flag.bit) != 0, "off|on");
        }
        out += "</fieldset>";
        return;
      case FieldKind::kSwitch:
        select01(label, name, values.*f.on, f.switch_text);
        return;
      case FieldKind::kChoice:
        select_list(label, name, f.list == NameList::kLbmethods ? snap.lbmethods : snap.hc_methods,
                    values.*f.text);
        return;
      case FieldKind::kText:
      case FieldKind::kSticky:
        if (f.list == NameList::kHcMethods) {
          select_list(label, name, snap.hc_methods, values.*f.text);
          return;
        }
        attrs += " maxlength=\"" + std::to_string(f.hi) + '"';
        break;
      case FieldKind::kCount:
        attrs += " inputmode=\"numeric\"";
        break;
      case FieldKind::kLoadfactor:
        attrs += " inputmode=\"decimal\"";
        break;
    }
    input(label.c_str(), name.c_str(), form_value(f, values), attrs.c_str());
  };
  // One member's edit form, as stock's worker page has, and its removal. The
  // health-check fields, when mod_proxy_hcheck is loaded, have a fieldset.
  auto member_forms = [&](const BalancerSnapshot& b, const MemberSnapshot& m) {
    const std::string bname = short_balancer_name(b.name);
    form_open(bname, &m.name, b.nonce);
    bool in_hc = false;
    for (const MemberField& f : kMemberFields) {
      if (f.has(kHealthCheck) && !snap.health_checks) continue;
      if (f.has(kHealthCheck) && !in_hc) {
        out += "<fieldset><legend>Health check</legend>";
        in_hc = true;
      }
      setting_input(f, m.settings);
    }
    if (in_hc) out += "</fieldset>";
    out += "<button type=\"submit\">Update member</button></form>\n";
    form_open(bname, &m.name, b.nonce);
    hidden("w_remove", "1");
    out += "<button type=\"submit\">Remove this member</button></form>\n";
  };
  // The balancer's own settings and "add a member", as stock's balancer form.
  auto balancer_form = [&](const BalancerSnapshot& b) {
    form_open(short_balancer_name(b.name), nullptr, b.nonce);
    for (const BalancerField& f : kBalancerFields) setting_input(f, b.settings);
    const std::string add_attrs = "size=\"30\" maxlength=\"" + std::to_string(kMaxMemberUrlChars) +
                                  "\" placeholder=\"https://host:port\"";
    input("Add member URL", "b_nwrkr", "", add_attrs.c_str());
    out +=
        "<label>Add it <input type=\"checkbox\" name=\"b_wyes\" value=\"1\"></label>"
        "<button type=\"submit\">Update balancer</button></form>\n";
  };

  // The form a ?b=...(&w=...) link selected, alone and first, as the operator
  // who followed that link expects; the tables follow for context.
  const bool selection = !snap.selected_balancer.empty();
  if (selection) {
    for (const BalancerSnapshot& b : snap.balancers) {
      if (short_balancer_name(b.name) != snap.selected_balancer) continue;
      out += "<section class=\"selected\" data-selected=\"";
      out += escape_html(b.name);
      if (snap.selected_member.empty()) {
        out += "\">\n<h2>Edit balancer ";
        out += escape_html(b.name);
        out += "</h2>\n";
        balancer_form(b);
      } else {
        for (const MemberSnapshot& m : b.members) {
          if (m.name != snap.selected_member) continue;
          out += "\" data-member=\"";
          out += escape_html(m.name);
          out += "\">\n<h2>Edit member <code>";
          out += escape_html(m.name);
          out += "</code>";
          if (!m.route.empty()) out += " (route <code>" + escape_html(m.route) + "</code>)";
          out += " of ";
          out += escape_html(b.name);
          out += "</h2>\n";
          member_forms(b, m);
        }
      }
      out += "<form method=\"get\" action=\"";
      out += action;
      out += "\"><button>Show every balancer's and member's form</button></form>\n</section>\n";
    }
  }

  for (const BalancerSnapshot& b : snap.balancers) {
    const std::string bname = short_balancer_name(b.name);
    const std::string link_base = action + "?b=" + escape_html(percent_encode(bname));
    const std::string link_nonce = "&amp;nonce=" + escape_html(percent_encode(b.nonce));
    out += "<section data-bal=\"";
    out += escape_html(b.name);
    out += "\">\n<h2>LoadBalancer Status for <a href=\"";
    out += link_base + link_nonce;
    out += "\">";
    out += escape_html(b.name);
    out += "</a>";
    out +=
        "</h2>\n<table><tr><th>LB Method</th><th>StickySession</th><th>Failover</th>"
        "<th>Maxattempts</th><th>Timeout</th><th>Unavailable</th><th>Edits</th>"
        "<th>Free slots</th><th>Persisted</th></tr>\n<tr>";
    std::string sticky = b.sticky_cookie.empty() ? "(None)" : escape_html(b.sticky_cookie);
    if (!b.sticky_path.empty() && b.sticky_path != b.sticky_cookie) {
      sticky += " | " + escape_html(b.sticky_path);
    }
    td(escape_html(b.lbmethod));
    td(sticky);
    td(b.nofailover ? "Off" : "On");
    td(num(b.max_attempts), "n");
    td(num(b.timeout_us / 1000000), "n");
    td(num(b.unavailable), "n", "unavailable");
    td(num(b.edits), "n");
    td(num(b.free_slots), "n");
    td(b.persist ? "yes (BalancerPersist On)" : "no");
    out += "</tr></table>\n";
    // The retry budget's outcome (docs/protection.md#retry-budget).
    out += "<p data-k=\"failovers\">";
    out += failovers_text(b);
    out += "</p>\n";
    if (!b.differs.empty() || !b.removed.empty()) {
      out += "<p class=\"diff\">Differs from the configuration file: ";
      bool first = true;
      for (const FieldChange& c : b.differs) {
        out += first ? "" : "; ";
        first = false;
        out += escape_html(c.field) + " " + shown(c.before) + " &rarr; " + shown(c.after);
      }
      for (const std::string& r : b.removed) {
        out += first ? "" : "; ";
        first = false;
        out += "member " + escape_html(r) + " removed";
      }
      out += "</p>\n";
    }
    // Stock's columns first, in stock's order; ours after them.
    out +=
        "<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th>"
        "<th>Set</th><th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th>"
        "<th>From</th><th>Sticky</th><th>Errors</th><th>Latency ms</th><th>Last error</th>"
        "<th>Failing</th><th>Ejected</th><th>Config</th></tr>\n";
    for (const MemberSnapshot& m : b.members) {
      out += "<tr data-b=\"";
      out += escape_html(b.name);
      out += "\" data-m=\"";
      out += escape_html(m.name);
      out += "\">";
      td("<a href=\"" + link_base + "&amp;w=" + escape_html(percent_encode(m.name, ":/")) +
         link_nonce + "\">" + escape_html(m.name) + "</a>");
      td(escape_html(m.route), nullptr, "route");
      td(escape_html(m.redirect), nullptr, "redirect");
      td(factor_text(format_loadfactor(m.weight), format_loadfactor(m.effective_weight)), "n",
         "loadfactor");
      td(num(m.lbset), "n", "lbset");
      td(escape_html(status_text(m.status)),
         is_usable(m.status) && m.ejected_until_us == 0 ? "ok" : "down", "status");
      td(num(m.elected), "n", "elected");
      td(num(m.busy), "n", "busy");
      td(num(m.lbstatus), "n", "lbstatus");
      td(num(m.bytes_sent), "n", "bytes_sent");
      td(num(m.bytes_received), "n", "bytes_received");
      td(num(m.sticky), "n", "sticky");
      td(num(m.faults), "n", "faults");
      td(latency_ms(m.latency_ewma_us), "n", "latency");
      td(format_time_us(m.error_time_us));
      td(failing_text(m.consecutive_5xx, m.consecutive_gateway), "n", "failing");
      td(ejected_text(m.ejected_until_us, m.ejections), m.ejected_until_us != 0 ? "down" : nullptr,
         "ejected");
      std::string config;
      if (m.added) {
        config = "added at run time";
      } else if (m.differs.empty()) {
        config = "as configured";
      } else {
        for (const FieldChange& c : m.differs) {
          if (!config.empty()) config += "; ";
          config += escape_html(c.field) + ": " + shown(c.before) + " &rarr; " + shown(c.after);
        }
      }
      td(config, m.added || !m.differs.empty() ? "diff" : nullptr);
      out += "</tr>\n";
    }
    out += "</table>\n";
    if (!selection) {
      for (const MemberSnapshot& m : b.members) {
        out += "<details><summary>Edit ";
        out += escape_html(m.name);
        out += "</summary>\n";
        member_forms(b, m);
        out += "</details>\n";
      }
      out += "<details><summary>Edit balancer settings or add a member</summary>\n";
      balancer_form(b);
      out += "</details>\n";
    }
    out += "</section>\n";
  }
  out += "<script nonce=\"";
  out += escape_html(snap.script_nonce);
  out += "\">";
  out += kRefreshScript;
  out += "</script>\n</body></html>\n";
  return out;
}

std::string render_xml(const ManagerSnapshot& snap) {
  std::string out = "<?xml version='1.0' encoding='UTF-8' ?>\n";
  out += "<httpd:manager xmlns:httpd='http://httpd.apache.org'>\n  <httpd:balancers>\n";
  auto el = [&out](int indent, const char* name, std::string_view value) {
    out.append(static_cast<std::size_t>(indent), ' ');
    out += "<httpd:";
    out += name;
    out += '>';
    out += escape_html(value);
    out += "</httpd:";
    out += name;
    out += ">\n";
  };
  for (const BalancerSnapshot& b : snap.balancers) {
    out += "    <httpd:balancer>\n";
    el(6, "name", b.name);
    el(6, "nonce", b.nonce);
    if (!b.sticky_cookie.empty()) {
      el(6, "stickysession", b.sticky_cookie);
      el(6, "nofailover", b.nofailover ? "On" : "Off");
    }
    el(6, "timeout", std::to_string(b.timeout_us / 1000000));
    el(6, "maxattempts", std::to_string(b.max_attempts));
    el(6, "lbmethod", b.lbmethod);
    out += "      <httpd:workers>\n";
    for (const MemberSnapshot& m : b.members) {
      out += "        <httpd:worker>\n";
      el(10, "name", m.name);
      el(10, "scheme", m.scheme);
      el(10, "hostname", m.hostname);
      el(10, "loadfactor", format_loadfactor(m.weight));
      el(10, "port", std::to_string(m.port));
      el(10, "status", status_text(m.status));
      el(10, "retries", std::to_string(m.retries));
      el(10, "transferred", std::to_string(m.bytes_sent));
      el(10, "read", std::to_string(m.bytes_received));
      el(10, "elected", std::to_string(m.elected));
      el(10, "route", m.route);
      el(10, "redirect", m.redirect);
      el(10, "busy", std::to_string(m.busy));
      el(10, "lbset", std::to_string(m.lbset));
      el(10, "retry", std::to_string(m.retry_us / 1000000));
      out += "        </httpd:worker>\n";
    }
    out += "      </httpd:workers>\n    </httpd:balancer>\n";
  }
  out += "  </httpd:balancers>\n</httpd:manager>\n";
  return out;
}

namespace {

void change_json(std::string& out, const FieldChange& c) {
  JsonObject o(out);
  o.str("field", c.field).str("config", c.before).str("now", c.after);
  o.close();
}

void member_json(std::string& out, const MemberSnapshot& m, bool with_health_checks) {
  JsonObject o(out);
  o.str("name", m.name).str("route", m.route).str("redirect", m.redirect);
  o.boolean("usable", is_usable(m.status));
  o.name("status");
  JsonObject flags(out);
  for (const StatusFlag& f : kStatusFlags) flags.boolean(f.json_name, (m.status & f.bit) != 0);
  flags.close();
  o.name("loadfactor") += format_loadfactor(m.weight);
  o.num("lbset", m.lbset).num("busy", m.busy).unum("elected", m.elected);
  o.unum("sticky", m.sticky).unum("faults", m.faults).num("retries", m.retries);
  o.unum("bytes_sent", m.bytes_sent).unum("bytes_received", m.bytes_received);
  o.num("error_time_us", m.error_time_us).num("retry_us", m.retry_us);
  o.str("status_text", status_text(m.status));
  o.name("latency");
  JsonObject lat(out);
  for (auto [key, us] :
       {std::pair{"ewma_ms", m.latency_ewma_us}, std::pair{"estimate_ms", m.latency_estimate_us}}) {
    if (us > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(us) / 1000.0);
      lat.name(key) += buf;
    } else {
      lat.name(key) += "null";
    }
  }
  lat.unum("sum_us", m.latency_sum_us).unum("count", m.latency_count);
  lat.close();
  o.boolean("added", m.added);
  append_array(o.name("differs"), m.differs, change_json);
  o.num("lbstatus", m.lbstatus);
  o.name("effective_loadfactor") += format_loadfactor(m.effective_weight);
  o.num("slowstart_s", m.settings.slowstart_s).num("in_service_since_us", m.in_service_since_us);
  o.boolean("slowstartatstart", m.settings.slowstart_at_start);
  o.boolean("ejected", m.ejected_until_us != 0).num("ejected_until_us", m.ejected_until_us);
  o.unum("ejections", m.ejections).unum("ejections_capped", m.ejections_capped);
  o.unum("consecutive_5xx", m.consecutive_5xx).unum("consecutive_gateway", m.consecutive_gateway);
  o.num("eject5xx", m.settings.eject_5xx).num("ejectgateway", m.settings.eject_gateway);
  o.num("ejectfailpercent", m.settings.eject_fail_percent)
      .num("ejectminrequests", m.settings.eject_min_requests);
  o.num("ejecttime_s", m.settings.eject_time_s).num("ejectmaxtime_s", m.settings.eject_max_s);
  o.boolean("ejectsessions", m.settings.eject_sessions);
  if (with_health_checks) {
    o.name("health_check");
    JsonObject hc(out);
    hc.str("method", m.settings.hc_method).num("interval_ms", m.settings.hc_interval_ms);
    hc.num("passes", m.settings.hc_passes).num("fails", m.settings.hc_fails);
    hc.str("uri", m.settings.hc_uri).str("expr", m.settings.hc_expr);
    hc.close();
  }
  o.close();
}

void balancer_json(std::string& out, const BalancerSnapshot& b, bool with_health_checks) {
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
  o.name("retry_budget");
  JsonObject budget(out);
  budget.num("percent", b.settings.retry_budget_percent)
      .num("floor", b.settings.retry_budget_floor)
      .num("in_flight", b.in_flight)
      .num("retries_in_flight", b.retries_in_flight);
  budget.unum("retries", b.retries)
      .unum("refused", b.retries_refused)
      .unum("unsafe_refused", b.unsafe_retries_refused);
  budget.close();
  o.num("ejectpercent", b.settings.eject_percent);
  o.str("nonce", b.nonce).boolean("persist", b.persist).unum("edits", b.edits);
  o.unum("free_slots", b.free_slots);
  append_array(o.name("differs"), b.differs, change_json);
  append_array(o.name("removed"), b.removed,
               [](std::string& to, const std::string& name) { append_json_string(to, name); });
  append_array(o.name("members"), b.members, [&](std::string& to, const MemberSnapshot& m) {
    member_json(to, m, with_health_checks);
  });
  o.close();
}

}  // namespace

std::string render_json(const ManagerSnapshot& snap) {
  std::string out;
  JsonObject o(out);
  o.str("schema", "isbalancer.manager/1").str("server", snap.server).num("time_us", snap.now_us);
  append_array(o.name("balancers"), snap.balancers,
               [&](std::string& to, const BalancerSnapshot& b) {
                 balancer_json(to, b, snap.health_checks);
               });
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
  // `kind`: a further label kind="...", for series that split by it.
  auto member_labels = [&out](const BalancerSnapshot& b, const MemberSnapshot& m,
                              std::string_view kind = {}) {
    out += "{balancer=";
    append_label(out, short_balancer_name(b.name));
    out += ",member=";
    append_label(out, m.name);
    out += ",route=";
    append_label(out, m.route);
    if (!kind.empty()) {
      out += ",kind=";
      append_label(out, kind);
    }
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
  auto seconds = [](std::int64_t us) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(us) / 1e6);
    return std::string(buf);
  };
  member_metric(
      {"isbalancer_member_up", "gauge", "1 if the member can take requests, else 0."},
      [&](const MemberSnapshot& m) { return std::string(is_usable(m.status) ? "1" : "0"); });
  member_metric({"isbalancer_member_busy", "gauge", "Requests in flight on the member."},
                [&](const MemberSnapshot& m) { return num(m.busy); });
  member_metric({"isbalancer_member_weight", "gauge", "The member's loadfactor."},
                [&](const MemberSnapshot& m) { return format_loadfactor(m.weight); });
  member_metric({"isbalancer_member_effective_weight", "gauge",
                 "The member's loadfactor as slow start has it now."},
                [&](const MemberSnapshot& m) { return format_loadfactor(m.effective_weight); });
  member_metric(
      {"isbalancer_member_ejected", "gauge",
       "1 while outlier ejection keeps the member out, else 0."},
      [&](const MemberSnapshot& m) { return std::string(m.ejected_until_us ? "1" : "0"); });
  member_metric({"isbalancer_member_ejected_until_seconds", "gauge",
                 "When the member's ejection ends (Unix time); 0 when it is not ejected."},
                [&](const MemberSnapshot& m) { return seconds(m.ejected_until_us); });
  member_metric({"isbalancer_member_ejections_total", "counter",
                 "Times outlier ejection took the member out."},
                [&](const MemberSnapshot& m) { return num(m.ejections); });
  member_metric({"isbalancer_member_ejections_capped_total", "counter",
                 "Times the member reached an ejection threshold but ejectpercent kept it in."},
                [&](const MemberSnapshot& m) { return num(m.ejections_capped); });
  header({"isbalancer_member_consecutive_errors", "gauge",
          "The member's consecutive 5xx answers (kind=\"5xx\") and gateway failures "
          "(kind=\"gateway\") now."});
  for (const BalancerSnapshot& b : snap.balancers) {
    for (const MemberSnapshot& m : b.members) {
      for (auto [kind, count] :
           {std::pair{"5xx", m.consecutive_5xx}, std::pair{"gateway", m.consecutive_gateway}}) {
        out += "isbalancer_member_consecutive_errors";
        member_labels(b, m, kind);
        append_uint(out, count);
        out += '\n';
      }
    }
  }
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
  member_metric({"isbalancer_member_latency_ewma_seconds", "gauge",
                 "Moving average (weight 1/8) of the time from the pick to the end of the "
                 "proxied exchange; 0 before the first request."},
                [&](const MemberSnapshot& m) { return seconds(m.latency_ewma_us); });
  member_metric({"isbalancer_member_latency_estimate_seconds", "gauge",
                 "The peak-sensitive latency estimate lbmethod=bylatency ranks members by, "
                 "decayed to now; 0 before the first request."},
                [&](const MemberSnapshot& m) { return seconds(m.latency_estimate_us); });
  header({"isbalancer_member_latency_seconds", "summary",
          "Time from the pick to the end of the proxied exchange."});
  for (const BalancerSnapshot& b : snap.balancers) {
    for (const MemberSnapshot& m : b.members) {
      out += "isbalancer_member_latency_seconds_sum";
      member_labels(b, m);
      out += seconds(static_cast<std::int64_t>(m.latency_sum_us));
      out += "\nisbalancer_member_latency_seconds_count";
      member_labels(b, m);
      append_uint(out, m.latency_count);
      out += '\n';
    }
  }
  auto balancer_metric = [&](const Metric& metric, auto value_of) {
    header(metric);
    for (const BalancerSnapshot& b : snap.balancers) {
      out += metric.name;
      out += "{balancer=";
      append_label(out, short_balancer_name(b.name));
      out += "} ";
      append_uint(out, value_of(b));
      out += '\n';
    }
  };
  balancer_metric({"isbalancer_balancer_edits_total", "counter",
                   "balancer-manager edits applied to the balancer."},
                  [](const BalancerSnapshot& b) { return b.edits; });
  balancer_metric({"isbalancer_balancer_unavailable_total", "counter",
                   "Requests answered 503 because no member could take them."},
                  [](const BalancerSnapshot& b) { return b.unavailable; });
  balancer_metric({"isbalancer_balancer_retries_total", "counter",
                   "Failovers to another member let through by the retry budget."},
                  [](const BalancerSnapshot& b) { return b.retries; });
  header({"isbalancer_balancer_retries_refused_total", "counter",
          "Failovers refused, with 503: the retry budget was spent (reason=\"budget\"), or "
          "part of the request body was read for the failed member and not kept "
          "(reason=\"body\")."});
  for (const BalancerSnapshot& b : snap.balancers) {
    for (const bool body : {false, true}) {
      out += "isbalancer_balancer_retries_refused_total{balancer=";
      append_label(out, short_balancer_name(b.name));
      out += body ? ",reason=\"body\"} " : ",reason=\"budget\"} ";
      append_uint(out, body ? b.unsafe_retries_refused : b.retries_refused);
      out += '\n';
    }
  }
  header({"isbalancer_balancer_retries_in_flight", "gauge",
          "Requests on a failover attempt now, across every child."});
  for (const BalancerSnapshot& b : snap.balancers) {
    out += "isbalancer_balancer_retries_in_flight{balancer=";
    append_label(out, short_balancer_name(b.name));
    out += "} ";
    append_int(out, b.retries_in_flight);
    out += '\n';
  }
  return out;
}

}  // namespace isb

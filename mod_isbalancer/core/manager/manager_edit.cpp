#include "core/manager/manager_edit.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/text/host.hpp"
#include "core/text/json.hpp"

namespace isb {
namespace {

// --- small text helpers -------------------------------------------------------

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_control(unsigned char c) noexcept {
  return c < 0x20 || c == 0x7f;
}

// Percent-decodes one form component ('+' is a space). Refuses bad escapes and
// control bytes: no field of ours may hold them.
std::optional<std::string> form_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (is_control(static_cast<unsigned char>(c))) return std::nullopt;
    out += c;
  }
  return out;
}

bool is_unreserved(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string shorten(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += is_control(static_cast<unsigned char>(c)) ? '?' : c;
  if (s.size() > 64) out += "...";
  return out;
}

bool all_of_chars(std::string_view s, bool (*ok)(char)) {
  return std::all_of(s.begin(), s.end(), ok);
}

bool route_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~' || c == ':';
}
bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}
bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
bool uri_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '"' && c != '\'' && c != '<' && c != '>' && c != '\\' &&
         c != '`';
}

// A decimal integer in [lo, hi]; no sign, no spaces.
std::optional<std::int64_t> parse_int(std::string_view s, std::int64_t lo, std::int64_t hi) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

// "2", "2.5", "2.50" -> x100, within 1..100 as stock allows.
std::optional<std::int64_t> parse_loadfactor(std::string_view s) {
  std::size_t dot = s.find('.');
  auto whole = parse_int(s.substr(0, dot), 0, 100);
  if (!whole) return std::nullopt;
  std::int64_t v = *whole * 100;
  if (dot != std::string_view::npos) {
    std::string_view frac = s.substr(dot + 1);
    if (frac.empty() || frac.size() > 2) return std::nullopt;
    auto f = parse_int(frac, 0, 99);
    if (!f) return std::nullopt;
    v += frac.size() == 1 ? *f * 10 : *f;
  }
  if (v < 100 || v > 10000) return std::nullopt;
  return v;
}

std::optional<bool> parse_flag(std::string_view s) {
  if (s == "1") return true;
  if (s == "0") return false;
  return std::nullopt;
}

// scheme://host[:port][/path], the shapes mod_proxy can define a member from.
bool valid_member_url(std::string_view url) {
  static constexpr std::array<std::string_view, 10> kSchemes = {
      "http", "https", "ajp", "fcgi", "h2", "h2c", "ws", "wss", "scgi", "uwsgi"};
  if (url.empty() || url.size() > kMaxMemberUrlChars) return false;
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return false;
  std::string scheme(url.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  if (std::find(kSchemes.begin(), kSchemes.end(), scheme) == kSchemes.end()) return false;
  std::string_view rest = url.substr(sep + 3);
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (!all_of_chars(path, uri_char)) return false;
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    std::string_view v6 = authority.substr(1, close - 1);
    if (!all_of_chars(v6, [](char c) { return hex_value(c) >= 0 || c == ':' || c == '.'; })) {
      return false;
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else {
    std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty() || host.front() == '.' || host.front() == '-') return false;
    if (!all_of_chars(host, [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.';
        })) {
      return false;
    }
  }
  return port.empty() || parse_int(port, 1, 65535).has_value();
}

std::optional<std::uint32_t> admin_bit(char letter) {
  const StatusFlag* f = find_status_flag(letter);
  if (f == nullptr || (f->bit & kAdminBits) == 0) return std::nullopt;
  return f->bit;
}

// --- JSON -------------------------------------------------------------------------

// The edit API's document, read by core/text/json: one object of string,
// number, true/false values and one nested object ("set") of them. No arrays, no
// null. It hands on_key(in_set, key) each key as it is read, and on_value(in_set,
// key, text) each value as form text: strings as they are, numbers as written,
// true/false as 1/0. The first refusal, its own or theirs, is kept in `err`.
template <class OnKey, class OnValue>
class JsonReader final : public JsonVisitor {
 public:
  JsonReader(EditError& err, OnKey on_key, OnValue on_value)
      : err_(err), on_key_(on_key), on_value_(on_value) {}

  bool object_begin() override {
    if (depth_ == 0 || (depth_ == 1 && !in_set_ && key_ == "set")) {
      in_set_ = ++depth_ == 2;
      return true;
    }
    return fail(field(), "must be a string, a number, true or false");
  }
  bool object_end() override {
    --depth_;
    in_set_ = false;
    key_.clear();
    return true;
  }
  bool key(std::string&& name) override {
    key_ = std::move(name);
    return on_key_(in_set_, key_);
  }
  bool value(JsonKind kind, std::string&& text) override {
    if (!in_set_ && key_ == "set") return fail("set", "must be an object");
    switch (kind) {
      case JsonKind::string:
        // JSON may escape them (\n, \u0001); no field of ours may hold them.
        if (std::any_of(text.begin(), text.end(),
                        [](char c) { return is_control(static_cast<unsigned char>(c)); })) {
          return fail(field(), "must not hold control characters");
        }
        break;
      case JsonKind::number:
        // The validators read decimal text, as a form field holds it.
        if (text.find_first_of("eE") != std::string::npos) {
          return fail(field(), "must be a number without an exponent");
        }
        break;
      case JsonKind::boolean:
        text = text == "true" ? "1" : "0";
        break;
      default:
        return fail(field(), "must be a string, a number, true or false");
    }
    return on_value_(in_set_, key_, std::move(text));
  }

 private:
  bool fail(std::string where, std::string message) {
    if (err_.message.empty()) err_ = {std::move(where), std::move(message)};
    return false;
  }
  std::string field() const { return in_set_ ? "set." + shorten(key_) : shorten(key_); }

  EditError& err_;
  OnKey on_key_;
  OnValue on_value_;
  int depth_ = 0;
  bool in_set_ = false;
  std::string key_;  // the key whose value comes next
};

struct JsonKey {
  std::string_view json;
  std::string_view form;
};
// The keys of "set", and the form field each one stands for.
constexpr std::array<JsonKey, 22> kSetKeys = {{
    {"loadfactor", "w_lf"},
    {"lbset", "w_ls"},
    {"route", "w_wr"},
    {"redirect", "w_rr"},
    {"ignore_errors", "w_status_I"},
    {"drain", "w_status_N"},
    {"disabled", "w_status_D"},
    {"hot_standby", "w_status_H"},
    {"hot_spare", "w_status_R"},
    {"stopped", "w_status_S"},
    {"hcheck_failed", "w_status_C"},
    {"hc_interval_ms", "w_hi"},
    {"hc_passes", "w_hp"},
    {"hc_fails", "w_hf"},
    {"hc_method", "w_hm"},
    {"hc_uri", "w_hu"},
    {"hc_expr", "w_he"},
    {"lbmethod", "b_lbm"},
    {"timeout", "b_tmo"},
    {"maxattempts", "b_max"},
    {"nofailover", "b_sforce"},
    {"stickysession", "b_ss"},
}};

std::string sticky_text(const std::string& cookie, const std::string& path) {
  if (cookie.empty() && path.empty()) return "";
  if (cookie == path) return cookie;
  return cookie + "|" + path;
}

}  // namespace

// --- forms ------------------------------------------------------------------------

std::optional<std::vector<FormField>> parse_form(std::string_view text, EditError& err) {
  if (text.size() > kMaxEditBytes) {
    err = {"", "the request carries more than " + std::to_string(kMaxEditBytes) + " bytes"};
    return std::nullopt;
  }
  std::vector<FormField> out;
  while (!text.empty()) {
    std::size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    if (out.size() == kMaxEditFields) {
      err = {"", "more than " + std::to_string(kMaxEditFields) + " fields"};
      return std::nullopt;
    }
    std::size_t eq = pair.find('=');
    auto name = form_decode(pair.substr(0, eq));
    if (!name || name->empty() || name->size() > 32) {
      err = {shorten(pair.substr(0, eq)), "not a valid field name"};
      return std::nullopt;
    }
    auto value =
        form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!value) {
      err = {*name, "bad percent-encoding or a control character in the value"};
      return std::nullopt;
    }
    out.push_back({std::move(*name), std::move(*value)});
  }
  return out;
}

std::string member_key(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  const std::string scheme = lower_ascii(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  auto [host, port] = split_host_port(authority);
  std::string key_host = lower_ascii(host);
  if (key_host.size() > 1 && key_host.back() == '.') key_host.pop_back();  // "h." is "h"
  key_host = canonical_ipv6(key_host).value_or(key_host);                  // [0:0::1] is [::1]
  while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);    // 08080 is 8080
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kDefaultPorts = {{
      {"http", "80"},
      {"ws", "80"},
      {"h2c", "80"},
      {"https", "443"},
      {"wss", "443"},
      {"h2", "443"},
      {"ajp", "8009"},
      {"fcgi", "8000"},
      {"scgi", "4000"},
  }};
  for (const auto& [name, default_port] : kDefaultPorts) {
    if (name == scheme && port == default_port) port = {};
  }
  // The path with the percent-encodings of unreserved characters decoded
  // (%41pp is App), as RFC 3986 says they are the same.
  std::string key_path;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && hex_value(path[i + 1]) >= 0 &&
        hex_value(path[i + 2]) >= 0) {
      const char c = static_cast<char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]));
      if (is_unreserved(c)) {
        key_path += c;
        i += 2;
        continue;
      }
    }
    key_path += path[i];
  }
  if (key_path == "/") key_path.clear();
  std::string out = scheme + "://" + key_host;
  if (!port.empty()) out.append(":").append(port);
  return out + key_path;
}

std::string percent_encode(std::string_view s, std::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (is_unreserved(c) || keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string encode_form(std::span<const FormField> fields) {
  std::string out;
  for (const auto& f : fields) {
    if (!out.empty()) out += '&';
    out += percent_encode(f.name);
    out += '=';
    out += percent_encode(f.value);
  }
  return out;
}

std::optional<std::vector<FormField>> parse_json_edit(std::string_view text, EditError& err) {
  if (text.size() > kMaxEditBytes) {
    err = {"", "the request carries more than " + std::to_string(kMaxEditBytes) + " bytes"};
    return std::nullopt;
  }
  std::vector<FormField> out;
  EditError first;  // the first refusal
  auto fail = [&](std::string field, std::string message) {
    if (first.message.empty()) first = {std::move(field), std::move(message)};
    return false;
  };
  auto push = [&](std::string_view name, std::string value) {
    for (const auto& f : out) {
      if (f.name == name) return false;
    }
    out.push_back({std::string(name), std::move(value)});
    return true;
  };
  auto set_key = [&](const std::string& skey) {
    return std::find_if(kSetKeys.begin(), kSetKeys.end(),
                        [&](const JsonKey& k) { return k.json == skey; });
  };
  // The keys of "set" are refused as soon as they are read, before their values.
  auto on_key = [&](bool in_set, const std::string& key) {
    return !in_set || set_key(key) != kSetKeys.end() || fail("set." + shorten(key), "unknown key");
  };
  // The top-level keys; "set" holds the settings, one level down.
  auto on_value = [&](bool in_set, const std::string& key, std::string value) {
    if (in_set) {
      if (!push(set_key(key)->form, std::move(value))) return fail("set." + key, "given twice");
      return out.size() <= kMaxEditFields || fail("", "too many keys");
    }
    bool ok = true;
    if (key == "nonce") {
      ok = push("nonce", std::move(value));
    } else if (key == "balancer") {
      ok = push("b", std::move(value));
    } else if (key == "member") {
      ok = push("w", std::move(value));
    } else if (key == "add") {
      ok = push("b_nwrkr", std::move(value)) && push("b_wyes", "1");
    } else if (key == "remove") {
      if (value != "1" && value != "0") return fail("remove", "must be true or false");
      ok = push("w_remove", std::move(value));
    } else {
      return fail(shorten(key), "unknown key");
    }
    return ok || fail(key, "given twice");
  };
  const std::size_t start = text.find_first_not_of(" \t\n\r");
  if (start == std::string_view::npos || text[start] != '{') {
    err = {"", "the body must be one JSON object"};
    return std::nullopt;
  }
  JsonReader in(first, on_key, on_value);
  if (auto malformed = read_json(text, in)) fail("", std::move(*malformed));
  if (!first.message.empty()) {
    err = std::move(first);
    return std::nullopt;
  }
  return out;
}

// --- settings ---------------------------------------------------------------------

std::string status_letters(std::uint32_t status) {
  std::string out;
  for (const StatusFlag& f : kStatusFlags) {
    if ((status & f.bit) != 0) out += f.letter;
  }
  return out;
}

std::string format_loadfactor(std::int64_t lbfactor) {
  std::string out = std::to_string(lbfactor / 100);
  std::int64_t frac = lbfactor % 100;
  if (frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%02d", static_cast<int>(frac));
    out += buf;
    if (out.back() == '0') out.pop_back();
  }
  return out;
}

std::vector<FieldChange> diff(const MemberSettings& a, const MemberSettings& b,
                              bool with_health_checks) {
  std::vector<FieldChange> out;
  auto add = [&](const char* name, std::string before, std::string after) {
    if (before != after) out.push_back({name, std::move(before), std::move(after)});
  };
  add("loadfactor", format_loadfactor(a.lbfactor), format_loadfactor(b.lbfactor));
  add("lbset", std::to_string(a.lbset), std::to_string(b.lbset));
  add("route", a.route, b.route);
  add("redirect", a.redirect, b.redirect);
  add("status", status_letters(a.status & kAdminBits), status_letters(b.status & kAdminBits));
  if (with_health_checks) {
    add("hc_interval_ms", std::to_string(a.hc_interval_ms), std::to_string(b.hc_interval_ms));
    add("hc_passes", std::to_string(a.hc_passes), std::to_string(b.hc_passes));
    add("hc_fails", std::to_string(a.hc_fails), std::to_string(b.hc_fails));
    add("hc_method", a.hc_method, b.hc_method);
    add("hc_uri", a.hc_uri, b.hc_uri);
    add("hc_expr", a.hc_expr, b.hc_expr);
  }
  return out;
}

std::vector<FieldChange> diff(const BalancerSettings& a, const BalancerSettings& b) {
  std::vector<FieldChange> out;
  auto add = [&](const char* name, std::string before, std::string after) {
    if (before != after) out.push_back({name, std::move(before), std::move(after)});
  };
  add("lbmethod", a.lbmethod, b.lbmethod);
  add("timeout", std::to_string(a.timeout_s), std::to_string(b.timeout_s));
  add("maxattempts", std::to_string(a.max_attempts), std::to_string(b.max_attempts));
  add("nofailover", a.sticky_force ? "On" : "Off", b.sticky_force ? "On" : "Off");
  add("stickysession", sticky_text(a.sticky_cookie, a.sticky_path),
      sticky_text(b.sticky_cookie, b.sticky_path));
  return out;
}

std::vector<FormField> edit_fields(const MemberSettings& a, const MemberSettings& b,
                                   bool with_health_checks) {
  std::vector<FormField> out;
  if (a.lbfactor != b.lbfactor) out.push_back({"w_lf", format_loadfactor(b.lbfactor)});
  if (a.lbset != b.lbset) out.push_back({"w_ls", std::to_string(b.lbset)});
  if (a.route != b.route) out.push_back({"w_wr", b.route});
  if (a.redirect != b.redirect) out.push_back({"w_rr", b.redirect});
  for (const StatusFlag& f : kStatusFlags) {
    if ((f.bit & kAdminBits) == 0 || ((a.status ^ b.status) & f.bit) == 0) continue;
    out.push_back({std::string("w_status_") + f.letter, (b.status & f.bit) != 0 ? "1" : "0"});
  }
  if (with_health_checks) {
    if (a.hc_interval_ms != b.hc_interval_ms) {
      out.push_back({"w_hi", std::to_string(b.hc_interval_ms)});
    }
    if (a.hc_passes != b.hc_passes) out.push_back({"w_hp", std::to_string(b.hc_passes)});
    if (a.hc_fails != b.hc_fails) out.push_back({"w_hf", std::to_string(b.hc_fails)});
    if (a.hc_method != b.hc_method) out.push_back({"w_hm", b.hc_method});
    if (a.hc_uri != b.hc_uri) out.push_back({"w_hu", b.hc_uri});
    if (a.hc_expr != b.hc_expr) out.push_back({"w_he", b.hc_expr});
  }
  return out;
}

std::vector<FormField> edit_fields(const BalancerSettings& a, const BalancerSettings& b) {
  std::vector<FormField> out;
  if (a.lbmethod != b.lbmethod) out.push_back({"b_lbm", b.lbmethod});
  if (a.timeout_s != b.timeout_s) out.push_back({"b_tmo", std::to_string(b.timeout_s)});
  if (a.max_attempts != b.max_attempts) out.push_back({"b_max", std::to_string(b.max_attempts)});
  if (a.sticky_force != b.sticky_force) out.push_back({"b_sforce", b.sticky_force ? "1" : "0"});
  if (a.sticky_cookie != b.sticky_cookie || a.sticky_path != b.sticky_path) {
    std::string ss = sticky_text(b.sticky_cookie, b.sticky_path);
    if (b.sticky_cookie.empty() && !b.sticky_path.empty()) ss = "|" + b.sticky_path;
    out.push_back({"b_ss", ss.empty() ? "-" : ss});
  }
  return out;
}

// --- validation ---------------------------------------------------------------------

bool EditRequest::edits_health_checks() const noexcept {
  return hc_interval_ms || hc_passes || hc_fails || hc_method || hc_uri || hc_expr;
}

bool EditRequest::edits_member() const noexcept {
  return lbfactor || lbset || route || redirect || status_set != 0 || status_clear != 0 || remove ||
         edits_health_checks();
}

bool EditRequest::edits_balancer() const noexcept {
  return lbmethod || timeout_s || max_attempts || sticky_force || sticky_cookie || add_member;
}

MemberSettings EditRequest::applied(MemberSettings s) const {
  if (lbfactor) s.lbfactor = *lbfactor;
  if (lbset) s.lbset = *lbset;
  if (route) s.route = *route;
  if (redirect) s.redirect = *redirect;
  s.status = (s.status | status_set) & ~status_clear;
  if (hc_interval_ms) s.hc_interval_ms = *hc_interval_ms;
  if (hc_passes) s.hc_passes = *hc_passes;
  if (hc_fails) s.hc_fails = *hc_fails;
  if (hc_method) s.hc_method = *hc_method;
  if (hc_uri) s.hc_uri = *hc_uri;
  if (hc_expr) s.hc_expr = *hc_expr;
  return s;
}

BalancerSettings EditRequest::applied(BalancerSettings s) const {
  if (lbmethod) s.lbmethod = *lbmethod;
  if (timeout_s) s.timeout_s = *timeout_s;
  if (max_attempts) s.max_attempts = *max_attempts;
  if (sticky_force) s.sticky_force = *sticky_force;
  if (sticky_cookie) {
    s.sticky_cookie = *sticky_cookie;
    s.sticky_path = sticky_path.value_or("");
  }
  return s;
}

std::optional<EditRequest> parse_edit(std::span<const FormField> fields, const EditRules& rules,
                                      EditError& err) {
  EditRequest e;
  std::optional<std::string> new_member;
  bool confirmed = false;
  auto fail = [&](const std::string& field, std::string message) {
    err = {field, std::move(message)};
    return std::nullopt;
  };
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& name = fields[i].name;
    const std::string& v = fields[i].value;
    for (std::size_t j = 0; j < i; ++j) {
      if (fields[j].name == name) return fail(name, "given more than once");
    }
    bool hc_field = name == "w_hi" || name == "w_hp" || name == "w_hf" || name == "w_hm" ||
                    name == "w_hu" || name == "w_he";
    if (hc_field && !rules.health_checks) {
      return fail(name, "health-check fields need mod_proxy_hcheck, which is not loaded");
    }
    if (name == "b") {
      std::string_view b = v;
      if (b.substr(0, 11) == "balancer://") b.remove_prefix(11);
      if (b.empty() || b.size() > 84 || !all_of_chars(b, name_char)) {
        return fail(name, "must be the name of a balancer (letters, digits, '-', '_', '.')");
      }
      e.balancer = b;
    } else if (name == "w") {
      if (v.empty() || v.size() > 383 || !all_of_chars(v, uri_char)) {
        return fail(name, "must be the URL of a member, as the page lists it");
      }
      e.member = v;
    } else if (name == "nonce") {
      if (v.size() > 64) return fail(name, "is longer than any nonce this server issues");
      e.nonce = v;
      e.has_nonce = true;
    } else if (name == "xml") {
      // An output format, not an edit.
    } else if (name == "w_lf") {
      e.lbfactor = parse_loadfactor(v);
      if (!e.lbfactor) return fail(name, "must be a load factor from 1 to 100 (two decimals)");
    } else if (name == "w_ls") {
      auto n = parse_int(v, 0, 99);
      if (!n) return fail(name, "must be an lbset from 0 to 99");
      e.lbset = static_cast<int>(*n);
    } else if (name == "w_wr" || name == "w_rr") {
      if (v.size() > kMaxRouteChars || !all_of_chars(v, route_char)) {
        return fail(name, "must be at most 63 characters of letters, digits and - _ . ~ :");
      }
      (name == "w_wr" ? e.route : e.redirect) = v;
    } else if (name.size() == 10 && name.compare(0, 9, "w_status_") == 0) {
      auto bit = admin_bit(name[9]);
      if (!bit) return fail(name, "is not a status flag (I N D H R S C)");
      if (*bit == kHcFail && !rules.health_checks) {
        return fail(name, "health-check fields need mod_proxy_hcheck, which is not loaded");
      }
      auto on = parse_flag(v);
      if (!on) return fail(name, "must be 0 or 1");
      (*on ? e.status_set : e.status_clear) |= *bit;
    } else if (name == "w_remove") {
      auto on = parse_flag(v);
      if (!on) return fail(name, "must be 0 or 1");
      e.remove = *on;
    } else if (name == "w_hi") {
      e.hc_interval_ms = parse_int(v, 100, 86'400'000);
      if (!e.hc_interval_ms) return fail(name, "must be milliseconds from 100 to 86400000");
    } else if (name == "w_hp" || name == "w_hf") {
      auto n = parse_int(v, 1, 1000);
      if (!n) return fail(name, "must be a count from 1 to 1000");
      (name == "w_hp" ? e.hc_passes : e.hc_fails) = static_cast<int>(*n);
    } else if (name == "w_hm") {
      if (v.empty() || v.size() > 15 || !all_of_chars(v, word_char)) {
        return fail(name, "must be a health-check method name");
      }
      e.hc_method = v;
    } else if (name == "w_hu") {
      if (v.size() > kMaxHcUriChars || !all_of_chars(v, uri_char)) {
        return fail(name, "must be a URI path of at most 63 printable characters");
      }
      e.hc_uri = v;
    } else if (name == "w_he") {
      if (v.size() > kMaxHcExprChars || !all_of_chars(v, word_char)) {
        return fail(name, "must be the name of a ProxyHCExpr (at most 15 characters)");
      }
      e.hc_expr = v;
    } else if (name == "b_lbm") {
      if (std::find(rules.lbmethods.begin(), rules.lbmethods.end(), v) == rules.lbmethods.end()) {
        std::string names;
        for (auto m : rules.lbmethods) names += (names.empty() ? "" : ", ") + std::string(m);
        return fail(name, "must be one of " + names);
      }
      e.lbmethod = v;
    } else if (name == "b_tmo") {
      e.timeout_s = parse_int(v, 0, 7200);
      if (!e.timeout_s) return fail(name, "must be seconds from 0 to 7200");
    } else if (name == "b_max") {
      auto n = parse_int(v, 0, 99);
      if (!n) return fail(name, "must be a number of attempts from 0 to 99");
      e.max_attempts = static_cast<int>(*n);
    } else if (name == "b_sforce") {
      e.sticky_force = parse_flag(v);
      if (!e.sticky_force) return fail(name, "must be 0 or 1");
    } else if (name == "b_ss") {
      if (v.empty()) continue;  // the stock form sends it empty: no change
      if (v == "-") {
        e.sticky_cookie = "";
        e.sticky_path = "";
        continue;
      }
      std::size_t bar = v.find('|');
      std::string cookie = v.substr(0, bar);
      std::string path = bar == std::string::npos ? cookie : v.substr(bar + 1);
      if (v.size() > kMaxStickyChars || cookie.empty() || !all_of_chars(cookie, name_char) ||
          !all_of_chars(path, name_char)) {
        return fail(name,
                    "must be '-' or a cookie name, optionally '|' and a path-parameter name "
                    "(letters, digits, '-', '_', '.'; at most 63 characters)");
      }
      e.sticky_cookie = cookie;
      e.sticky_path = path;
    } else if (name == "b_nwrkr") {
      if (v.empty()) continue;  // the stock form sends it empty: no member to add
      if (!valid_member_url(v)) {
        return fail(name,
                    "must be a member URL: http, https, ajp, fcgi, h2, h2c, ws, wss, scgi or "
                    "uwsgi, then ://host[:port][/path], at most 255 characters");
      }
      new_member = v;
    } else if (name == "b_wyes") {
      auto on = parse_flag(v);
      if (!on) return fail(name, "must be 0 or 1");
      confirmed = *on;
    } else {
      return fail(shorten(name), "is not a balancer-manager field");
    }
  }
  if (new_member) {
    if (!confirmed) return fail("b_wyes", "adding a member needs b_wyes=1");
    e.add_member = new_member;
  }
  if (e.remove && (e.lbfactor || e.lbset || e.route || e.redirect || e.status_set != 0 ||
                   e.status_clear != 0 || e.edits_health_checks())) {
    return fail("w_remove", "cannot be combined with other member fields");
  }
  if (e.edits_anything() && e.balancer.empty()) return fail("b", "names no balancer");
  if (e.edits_member() && e.member.empty()) return fail("w", "names no member");
  return e;
}

bool nonce_equal(std::string_view expected, std::string_view given) noexcept {
  if (expected.empty()) return false;
  unsigned char acc = expected.size() == given.size() ? 0 : 1;
  const std::size_t last = given.empty() ? 0 : given.size() - 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::size_t j = i < last ? i : last;
    const unsigned char g = given.empty() ? 0 : static_cast<unsigned char>(given[j]);
    acc = static_cast<unsigned char>(acc | (static_cast<unsigned char>(expected[i]) ^ g));
  }
  return acc == 0;
}

}  // namespace isb

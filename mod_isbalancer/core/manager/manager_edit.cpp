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
  if (!all_of_class(CharClass::kUri, path)) return false;
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    std::string_view v6 = authority.substr(1, close - 1);
    if (!std::all_of(v6.begin(), v6.end(),
                     [](char c) { return hex_value(c) >= 0 || c == ':' || c == '.'; })) {
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
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.';
        })) {
      return false;
    }
  }
  return port.empty() || parse_decimal(port, 1, 65535).has_value();
}

std::optional<std::uint32_t> admin_bit(char letter) {
  const StatusFlag* f = find_status_flag(letter);
  if (f == nullptr || (f->bit & kAdminBits) == 0) return std::nullopt;
  return f->bit;
}

// --- JSON -------------------------------------------------------------------------

// Whether JSON's true and false are values for `key` (a key of "set" when
// `in_set`): the status flags and other switches, and the top level's "remove".
// A number of seconds or a load factor is not one: true is no value for it.
bool takes_boolean(bool in_set, const std::string& key) {
  if (!in_set) return key == "remove";
  const auto form = set_key_form(key);
  if (!form) return false;
  if (form->compare(0, 9, "w_status_") == 0) return true;
  const MemberField* m = member_field_by_form(*form);
  const BalancerField* b = balancer_field_by_form(*form);
  return (m != nullptr && m->kind == FieldKind::kSwitch) ||
         (b != nullptr && b->kind == FieldKind::kSwitch);
}

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
        if (!takes_boolean(in_set_, key_)) return fail(field(), "must be a number or a string");
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
  // The keys of "set" are refused as soon as they are read, before their values.
  bool seen_set = false;  // "set" is an object: push() cannot see it given twice
  auto on_key = [&](bool in_set, const std::string& key) {
    if (!in_set && key == "set") {
      if (seen_set) return fail("set", "given twice");
      seen_set = true;
    }
    return !in_set || set_key_form(key).has_value() || fail("set." + shorten(key), "unknown key");
  };
  // The top-level keys; "set" holds the settings, one level down.
  auto on_value = [&](bool in_set, const std::string& key, std::string value) {
    if (in_set) {
      if (!push(*set_key_form(key), std::move(value))) return fail("set." + key, "given twice");
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

namespace {

// Whether the edit may show, change or carry field `f` at all.
template <class S>
bool in_scope(const Field<S>& f, bool with_health_checks) {
  return with_health_checks || !f.has(kHealthCheck);
}

template <class S>
std::vector<FieldChange> diff_of(const S& a, const S& b, bool with_health_checks) {
  std::vector<FieldChange> out;
  for (const Field<S>& f : fields_of<S>()) {
    if (!in_scope(f, with_health_checks) || same_value(f, a, b)) continue;
    out.push_back({std::string(f.name), shown_value(f, a), shown_value(f, b)});
  }
  return out;
}

template <class S>
std::vector<FormField> edit_fields_of(const S& a, const S& b, bool with_health_checks) {
  std::vector<FormField> out;
  for (const Field<S>& f : fields_of<S>()) {
    if (!in_scope(f, with_health_checks) || same_value(f, a, b)) continue;
    if (f.kind != FieldKind::kStatus) {
      out.push_back({std::string(f.form), form_value(f, b)});
      continue;
    }
    for (const StatusFlag& flag : kStatusFlags) {
      if ((flag.bit & kAdminBits) == 0 || ((a.*f.bits ^ b.*f.bits) & flag.bit) == 0) continue;
      std::string name(f.form);
      name += flag.letter;
      out.push_back({std::move(name), (b.*f.bits & flag.bit) != 0 ? "1" : "0"});
    }
  }
  return out;
}

}  // namespace

std::vector<FieldChange> diff(const MemberSettings& a, const MemberSettings& b,
                              bool with_health_checks) {
  return diff_of(a, b, with_health_checks);
}

std::vector<FieldChange> diff(const BalancerSettings& a, const BalancerSettings& b) {
  return diff_of(a, b, true);
}

std::vector<FormField> edit_fields(const MemberSettings& a, const MemberSettings& b,
                                   bool with_health_checks) {
  return edit_fields_of(a, b, with_health_checks);
}

std::vector<FormField> edit_fields(const BalancerSettings& a, const BalancerSettings& b) {
  return edit_fields_of(a, b, true);
}

// --- validation ---------------------------------------------------------------------

bool EditRequest::edits_health_checks() const noexcept {
  for (const MemberField& f : kMemberFields) {
    if (f.has(kHealthCheck) && (member_fields & field_bit(f)) != 0) return true;
  }
  return false;
}

bool EditRequest::edits_member() const noexcept {
  return member_fields != 0 || status_set != 0 || status_clear != 0 || remove;
}

bool EditRequest::edits_balancer() const noexcept {
  return balancer_fields != 0 || add_member;
}

MemberSettings EditRequest::applied(MemberSettings s) const {
  s = with_values(std::move(s), member_values, member_fields);
  s.status = (s.status | status_set) & ~status_clear;
  return s;
}

BalancerSettings EditRequest::applied(BalancerSettings s) const {
  return with_values(std::move(s), balancer_values, balancer_fields);
}

std::optional<EditRequest> parse_edit(std::span<const FormField> fields, const EditRules& rules,
                                      EditError& err) {
  EditRequest e;
  std::optional<std::string> new_member;
  bool confirmed = false;
  const NameLists names{rules.lbmethods, {}};
  auto fail = [&](const std::string& field, std::string message) {
    err = {field, std::move(message)};
    return std::nullopt;
  };
  const std::string hc_needed = "health-check fields need mod_proxy_hcheck, which is not loaded";
  // A settings field: its value into `values`, its bit into `set`.
  auto take = [&](const auto& f, const std::string& v, auto& values, FieldSet& set) {
    if (f.has(kEmptyKeepsIt) && v.empty()) return true;
    if (!parse_value(f, v, values, names)) return false;
    set |= field_bit(f);
    return true;
  };
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& name = fields[i].name;
    const std::string& v = fields[i].value;
    for (std::size_t j = 0; j < i; ++j) {
      if (fields[j].name == name) return fail(name, "given more than once");
    }
    if (const MemberField* f = member_field_by_form(name)) {
      if (!in_scope(*f, rules.health_checks)) return fail(name, hc_needed);
      if (!take(*f, v, e.member_values, e.member_fields)) {
        return fail(name, "must be " + accepts(*f, names));
      }
    } else if (const BalancerField* bf = balancer_field_by_form(name)) {
      if (!take(*bf, v, e.balancer_values, e.balancer_fields)) {
        return fail(name, "must be " + accepts(*bf, names));
      }
    } else if (name.size() == 10 && name.compare(0, 9, "w_status_") == 0) {
      auto bit = admin_bit(name[9]);
      if (!bit) {
        std::string letters;
        for (const StatusFlag& flag : kStatusFlags) {
          if ((flag.bit & kAdminBits) == 0) continue;
          letters += letters.empty() ? "" : " ";
          letters += flag.letter;
        }
        return fail(name, "is not a status flag (" + letters + ")");
      }
      if (*bit == kHcFail && !rules.health_checks) return fail(name, hc_needed);
      auto on = parse_flag(v);
      if (!on) return fail(name, "must be 0 or 1");
      (*on ? e.status_set : e.status_clear) |= *bit;
    } else if (name == "b") {
      std::string_view b = v;
      if (b.substr(0, 11) == "balancer://") b.remove_prefix(11);
      if (b.empty() || b.size() > 84 || !all_of_class(CharClass::kName, b)) {
        return fail(name, "must be the name of a balancer (letters, digits, '-', '_', '.')");
      }
      e.balancer = b;
    } else if (name == "w") {
      if (v.empty() || v.size() > 383 || !all_of_class(CharClass::kUri, v)) {
        return fail(name, "must be the URL of a member, as the page lists it");
      }
      e.member = v;
    } else if (name == "nonce") {
      if (v.size() > 64) return fail(name, "is longer than any nonce this server issues");
      e.nonce = v;
      e.has_nonce = true;
    } else if (name == "xml") {
      // An output format, not an edit.
    } else if (name == "w_remove") {
      auto on = parse_flag(v);
      if (!on) return fail(name, "must be 0 or 1");
      e.remove = *on;
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
  if (e.remove && (e.member_fields != 0 || e.status_set != 0 || e.status_clear != 0)) {
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

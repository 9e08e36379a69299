#include "core/config/schema.hpp"

#include <algorithm>
#include <cstdio>

namespace isb {
namespace {

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool of_class(CharClass cls, char c) noexcept {
  switch (cls) {
    case CharClass::kRoute:
      return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':';
    case CharClass::kName:
      return is_alnum(c) || c == '-' || c == '_' || c == '.';
    case CharClass::kWord:
      return is_alnum(c) || c == '_' || c == '-';
    case CharClass::kUri: {
      const auto u = static_cast<unsigned char>(c);
      return u > 0x20 && u < 0x7f && c != '"' && c != '\'' && c != '<' && c != '>' && c != '\\' &&
             c != '`';
    }
  }
  return false;
}

std::string_view class_text(CharClass cls) noexcept {
  switch (cls) {
    case CharClass::kRoute:
      return "letters, digits and - _ . ~ :";
    case CharClass::kName:
      return "letters, digits and - _ .";
    case CharClass::kWord:
      return "letters, digits and _ -";
    case CharClass::kUri:
      return "printable ASCII other than space and \" ' < > \\ `";
  }
  return "";
}

// "2", "2.5", "2.50" -> x100.
std::optional<std::int64_t> parse_loadfactor(std::string_view s) {
  const std::size_t dot = s.find('.');
  auto whole = parse_decimal(s.substr(0, dot), 0, 1'000'000);
  if (!whole) return std::nullopt;
  std::int64_t v = *whole * 100;
  if (dot != std::string_view::npos) {
    const std::string_view frac = s.substr(dot + 1);
    if (frac.empty() || frac.size() > 2) return std::nullopt;
    auto f = parse_decimal(frac, 0, 99);
    if (!f) return std::nullopt;
    v += frac.size() == 1 ? *f * 10 : *f;
  }
  return v;
}

std::string join(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string range_text(std::string_view unit, std::string lo, std::string hi) {
  std::string out(unit);
  out += " from ";
  out += lo;
  out += " to ";
  out += hi;
  return out;
}

}  // namespace

bool all_of_class(CharClass c, std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [c](char ch) { return of_class(c, ch); });
}

std::optional<std::int64_t> parse_decimal(std::string_view s, std::int64_t lo,
                                          std::int64_t hi) noexcept {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::string format_loadfactor(std::int64_t lbfactor) {
  std::string out = std::to_string(lbfactor / 100);
  const std::int64_t frac = lbfactor % 100;
  if (frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%02d", static_cast<int>(frac));
    out += buf;
    if (out.back() == '0') out.pop_back();
  }
  return out;
}

std::string status_letters(std::uint32_t status) {
  std::string out;
  for (const StatusFlag& f : kStatusFlags) {
    if ((status & f.bit) != 0) out += f.letter;
  }
  return out;
}

std::string sticky_text(std::string_view cookie, std::string_view path) {
  if (cookie == path) return std::string(cookie);
  std::string out(cookie);
  out += '|';
  out += path;
  return out;
}

std::string_view sticky_cookie(std::string_view sticky) {
  return sticky.substr(0, sticky.find('|'));
}

std::string_view sticky_path(std::string_view sticky) {
  const std::size_t bar = sticky.find('|');
  return bar == std::string_view::npos ? sticky : sticky.substr(bar + 1);
}

template <class S>
bool parse_value(const Field<S>& f, std::string_view text, S& into, const NameLists& names) {
  switch (f.kind) {
    case FieldKind::kCount:
      if (auto v = parse_decimal(text, f.lo, f.hi)) {
        into.*f.number = *v;
        return true;
      }
      return false;
    case FieldKind::kLoadfactor:
      if (auto v = parse_loadfactor(text); v && *v >= f.lo && *v <= f.hi) {
        into.*f.number = *v;
        return true;
      }
      return false;
    case FieldKind::kText:
      if (text.size() < static_cast<std::size_t>(f.lo) ||
          text.size() > static_cast<std::size_t>(f.hi) || !all_of_class(f.chars, text)) {
        return false;
      }
      into.*f.text = text;
      return true;
    case FieldKind::kSwitch:
      if (text != "0" && text != "1") return false;
      into.*f.on = text == "1";
      return true;
    case FieldKind::kChoice: {
      const auto list = names.of(f.list);
      if (std::find(list.begin(), list.end(), text) == list.end()) return false;
      into.*f.text = text;
      return true;
    }
    case FieldKind::kSticky: {
      if (text == "-") {
        into.*f.text = "";
        return true;
      }
      // "-" alone means none, so neither name may be "-" (the form would show it
      // back as "-" and clear it); a '|' is followed by a path name.
      const std::string_view cookie = sticky_cookie(text);
      const std::string_view path = sticky_path(text);
      if (text.size() > static_cast<std::size_t>(f.hi) || cookie.empty() || path.empty() ||
          cookie == "-" || path == "-" || !all_of_class(CharClass::kName, cookie) ||
          !all_of_class(CharClass::kName, path)) {
        return false;
      }
      into.*f.text = sticky_text(cookie, sticky_path(text));
      return true;
    }
    case FieldKind::kStatus:
      return false;  // one w_status_X field per flag; see parse_edit()
  }
  return false;
}

template <class S>
std::string accepts(const Field<S>& f, const NameLists& names) {
  switch (f.kind) {
    case FieldKind::kCount:
      return range_text(f.unit, std::to_string(f.lo), std::to_string(f.hi));
    case FieldKind::kLoadfactor:
      return range_text(f.unit, format_loadfactor(f.lo), format_loadfactor(f.hi)) +
             " (two decimals)";
    case FieldKind::kText: {
      std::string out = f.lo > 0 ? std::to_string(f.lo) + " to " : "at most ";
      out += std::to_string(f.hi);
      out += " characters of ";
      out += class_text(f.chars);
      return out;
    }
    case FieldKind::kSwitch:
    case FieldKind::kStatus:
      return "0 or 1";
    case FieldKind::kChoice:
      return "one of " + join(names.of(f.list));
    case FieldKind::kSticky: {
      std::string out =
          "'-' or a cookie name other than '-', optionally '|' and a path-parameter name (";
      out += class_text(CharClass::kName);
      out += "; at most ";
      out += std::to_string(f.hi);
      out += " characters)";
      return out;
    }
  }
  return "";
}

template <class S>
std::string form_value(const Field<S>& f, const S& s) {
  switch (f.kind) {
    case FieldKind::kCount:
      return std::to_string(s.*f.number);
    case FieldKind::kLoadfactor:
      return format_loadfactor(s.*f.number);
    case FieldKind::kText:
    case FieldKind::kChoice:
      return s.*f.text;
    case FieldKind::kSwitch:
      return s.*f.on ? "1" : "0";
    case FieldKind::kSticky:
      return (s.*f.text).empty() ? "-" : s.*f.text;
    case FieldKind::kStatus:
      return status_letters(s.*f.bits & kAdminBits);
  }
  return "";
}

template <class S>
std::string shown_value(const Field<S>& f, const S& s) {
  switch (f.kind) {
    case FieldKind::kSwitch:
      return s.*f.on ? "On" : "Off";
    case FieldKind::kSticky:
      return s.*f.text;
    default:
      return form_value(f, s);
  }
}

template <class S>
bool same_value(const Field<S>& f, const S& a, const S& b) noexcept {
  if (f.number) return a.*f.number == b.*f.number;
  if (f.text) return a.*f.text == b.*f.text;
  if (f.on) return a.*f.on == b.*f.on;
  return ((a.*f.bits ^ b.*f.bits) & kAdminBits) == 0;
}

template <class S>
void copy_value(const Field<S>& f, const S& from, S& to) {
  if (f.number) to.*f.number = from.*f.number;
  if (f.text) to.*f.text = from.*f.text;
  if (f.on) to.*f.on = from.*f.on;
  if (f.bits) to.*f.bits = from.*f.bits;
}

template bool parse_value(const Field<MemberSettings>&, std::string_view, MemberSettings&,
                          const NameLists&);
template std::string accepts(const Field<MemberSettings>&, const NameLists&);
template std::string form_value(const Field<MemberSettings>&, const MemberSettings&);
template std::string shown_value(const Field<MemberSettings>&, const MemberSettings&);
template bool same_value(const Field<MemberSettings>&, const MemberSettings&,
                         const MemberSettings&) noexcept;
template void copy_value(const Field<MemberSettings>&, const MemberSettings&, MemberSettings&);
template bool parse_value(const Field<BalancerSettings>&, std::string_view, BalancerSettings&,
                          const NameLists&);
template std::string accepts(const Field<BalancerSettings>&, const NameLists&);
template std::string form_value(const Field<BalancerSettings>&, const BalancerSettings&);
template std::string shown_value(const Field<BalancerSettings>&, const BalancerSettings&);
template bool same_value(const Field<BalancerSettings>&, const BalancerSettings&,
                         const BalancerSettings&) noexcept;
template void copy_value(const Field<BalancerSettings>&, const BalancerSettings&,
                         BalancerSettings&);

const MemberField* member_field_by_form(std::string_view form) noexcept {
  for (const MemberField& f : kMemberFields) {
    if (f.kind != FieldKind::kStatus && f.form == form) return &f;
  }
  return nullptr;
}

const BalancerField* balancer_field_by_form(std::string_view form) noexcept {
  for (const BalancerField& f : kBalancerFields) {
    if (f.form == form) return &f;
  }
  return nullptr;
}

std::optional<std::string> set_key_form(std::string_view key) {
  for (const MemberField& f : kMemberFields) {
    if (f.kind != FieldKind::kStatus && f.name == key) return std::string(f.form);
  }
  for (const StatusFlag& flag : kStatusFlags) {
    if ((flag.bit & kAdminBits) != 0 && flag.json_name == key) {
      std::string form = "w_status_";
      form += flag.letter;
      return form;
    }
  }
  if (const BalancerField* f = field_named<BalancerSettings>(key)) return std::string(f->form);
  return std::nullopt;
}

}  // namespace isb

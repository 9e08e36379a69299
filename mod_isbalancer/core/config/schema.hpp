// The settings of a balancer and of its members, each described once.
//
// A setting's entry in kMemberFields or kBalancerFields says everything the
// module does with it: its name (the JSON edit API's `set` key, the audit log's
// and the page's "differs" name), its balancer-manager form field and label, how
// its text is read and written, what values it may take, and whether it is
// mod_proxy_hcheck's or feeds the per-process member indexes. The form and JSON
// edit parsers, the validator, the diff against the configuration, the forms a
// restart carries (persist/runtime_edits) and the page's edit forms all walk
// these tables; none of them names a setting. A value in the struct is in
// mod_proxy's units, so the httpd layer copies it to and from mod_proxy's shared
// fields as it is.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/member/limits.hpp"
#include "core/member/status.hpp"

namespace isb {

// A member's operator-settable values.
struct MemberSettings {
  std::int64_t lbfactor = 100;  // loadfactor x 100
  std::int64_t lbset = 0;
  std::string route;
  std::string redirect;
  std::uint32_t status = 0;  // only kAdminBits
  // mod_proxy_hcheck's; shown and edited only when it is loaded.
  std::int64_t hc_interval_ms = 0;
  std::int64_t hc_passes = 0;
  std::int64_t hc_fails = 0;
  std::string hc_method;
  std::string hc_uri;
  std::string hc_expr;
  // Ours (ISBalancerSet, ISBalancerMemberSet): the slow-start window, seconds,
  // and whether it applies at httpd's start as well;
  // outlier ejection: the consecutive 5xx answers and gateway failures that
  // eject (0: never), the first and the longest ejection in seconds, and whether
  // an ejected member's sessions stay with it.
  std::int64_t slowstart_s = 0;
  bool slowstart_at_start = false;  // ramp at httpd's start too
  std::int64_t eject_5xx = 0;
  std::int64_t eject_gateway = 0;
  std::int64_t eject_fail_percent = 0;   // the moving share of 5xx that ejects
  std::int64_t eject_min_requests = 50;  // the answers it averages over and first judges
  std::int64_t eject_time_s = 30;
  std::int64_t eject_max_s = 300;
  bool eject_sessions = false;
  bool operator==(const MemberSettings&) const = default;
};

// A balancer's operator-settable values.
struct BalancerSettings {
  std::string lbmethod;
  std::int64_t timeout_s = 0;
  std::int64_t max_attempts = 0;
  bool sticky_force = false;  // nofailover
  // The cookie and the path parameter, as the page writes them: "JSESSIONID"
  // when both are that name, "JSESSIONID|jsessionid" when they differ, "" for
  // none. sticky_cookie() and sticky_path() take it apart.
  std::string sticky;
  // Ours (ISBalancerSet): the most members, in percent, that may be out for an
  // ejection to go ahead; the retry budget, in percent of the requests in
  // flight, and the failovers in flight it always allows.
  std::int64_t eject_percent = 10;
  std::int64_t retry_budget_percent = 20;
  std::int64_t retry_budget_floor = 3;
  bool operator==(const BalancerSettings&) const = default;
};

std::string sticky_text(std::string_view cookie, std::string_view path);
std::string_view sticky_cookie(std::string_view sticky);
std::string_view sticky_path(std::string_view sticky);

// How a setting's text is read.
enum class FieldKind : std::uint8_t {
  kCount,       // a decimal number from lo to hi, no sign
  kLoadfactor,  // "2", "2.5" or "2.50": x100, from lo to hi
  kText,        // lo to hi characters of `chars`
  kSwitch,      // "1" or "0" (true or false in JSON)
  kChoice,      // one of the names EditRules lists for `list`
  kSticky,      // "-" for none, or a cookie name and optionally "|" and a path name
  kStatus,      // the operator's status flags: one w_status_X field per flag
};

enum class CharClass : std::uint8_t {
  kRoute,  // letters, digits and - _ . ~ :
  kName,   // letters, digits and - _ .
  kWord,   // letters, digits and _ -
  kUri,    // printable ASCII but space " ' < > \ `
};

// Where a kChoice field's names come from, and the list the page offers for it.
enum class NameList : std::uint8_t { kNone, kLbmethods, kHcMethods };

// Who parses the setting from the configuration: mod_proxy (BalancerMember,
// ProxySet, ProxyPass parameters, kept in its shared structs) or this module
// (ISBalancerSet, ISBalancerMemberSet, kept in our shared segment).
enum class Owner : std::uint8_t { kModProxy, kOurs };

enum FieldTrait : std::uint8_t {
  kHealthCheck = 1,   // mod_proxy_hcheck's: refused, hidden and not persisted without it
  kIndexed = 2,       // each process builds its member indexes from it (routes, weights)
  kEmptyKeepsIt = 4,  // an empty form value changes nothing (stock's page sends it empty)
};

template <class S>
struct Field {
  std::string_view name = {};   // the `set` key; the audit log's and "differs"' name
  std::string_view form = {};   // the balancer-manager form field
  std::string_view label = {};  // the form's label
  FieldKind kind = FieldKind::kCount;
  Owner owner = Owner::kModProxy;
  std::int64_t lo = 0;  // kCount, kLoadfactor: the range; kText: the length
  std::int64_t hi = 0;
  std::string_view unit = {};  // kCount, kLoadfactor: "a load factor", "seconds", ...
  CharClass chars = CharClass::kName;
  NameList list = NameList::kNone;
  std::uint8_t traits = 0;
  int width = 0;                            // the form input's size
  std::string_view switch_text = "off|on";  // kSwitch: the page's words for 0|1
  // The value: exactly one of these is set, by the kind.
  std::int64_t S::*number = nullptr;  // kCount, kLoadfactor
  std::string S::*text = nullptr;     // kText, kChoice, kSticky
  bool S::*on = nullptr;              // kSwitch
  std::uint32_t S::*bits = nullptr;   // kStatus

  constexpr bool has(FieldTrait t) const noexcept { return (traits & t) != 0; }
};

using MemberField = Field<MemberSettings>;
using BalancerField = Field<BalancerSettings>;

// In the order the page's forms show them and the audit log lists changes.
inline constexpr std::array<MemberField, 20> kMemberFields = {{
    {.name = "loadfactor",
     .form = "w_lf",
     .label = "Load factor",
     .kind = FieldKind::kLoadfactor,
     .lo = 100,
     .hi = 10000,
     .unit = "a load factor",
     .traits = kIndexed,
     .width = 5,
     .number = &MemberSettings::lbfactor},
    {.name = "lbset",
     .form = "w_ls",
     .label = "LB set",
     .kind = FieldKind::kCount,
     .lo = 0,
     .hi = 99,
     .unit = "an lbset",
     .width = 3,
     .number = &MemberSettings::lbset},
    {.name = "slowstart",
     .form = "w_slow",
     .label = "Slow start s",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 0,
     .hi = 3600,
     .unit = "seconds",
     .width = 4,
     .number = &MemberSettings::slowstart_s},
    {.name = "slowstartatstart",
     .form = "w_slowinit",
     .label = "Slow start at httpd's start",
     .kind = FieldKind::kSwitch,
     .owner = Owner::kOurs,
     .switch_text = "off|on",
     .on = &MemberSettings::slowstart_at_start},
    {.name = "eject5xx",
     .form = "w_e5xx",
     .label = "Eject after 5xx",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 0,
     .hi = 1000,
     .unit = "a count",
     .width = 3,
     .number = &MemberSettings::eject_5xx},
    {.name = "ejectgateway",
     .form = "w_egw",
     .label = "Eject after gateway errors",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 0,
     .hi = 1000,
     .unit = "a count",
     .width = 3,
     .number = &MemberSettings::eject_gateway},
    {.name = "ejectfailpercent",
     .form = "w_efpct",
     .label = "Eject at 5xx %",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 0,
     .hi = 100,
     .unit = "a percentage",
     .width = 3,
     .number = &MemberSettings::eject_fail_percent},
    {.name = "ejectminrequests",
     .form = "w_emin",
     .label = "Over answers",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 1,
     .hi = 100000,
     .unit = "a count",
     .width = 5,
     .number = &MemberSettings::eject_min_requests},
    {.name = "ejecttime",
     .form = "w_etime",
     .label = "Ejection s",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 1,
     .hi = 3600,
     .unit = "seconds",
     .width = 4,
     .number = &MemberSettings::eject_time_s},
    {.name = "ejectmaxtime",
     .form = "w_emax",
     .label = "Longest ejection s",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 1,
     .hi = 86400,
     .unit = "seconds",
     .width = 5,
     .number = &MemberSettings::eject_max_s},
    {.name = "ejectsessions",
     .form = "w_esess",
     .label = "Sessions of an ejected member",
     .kind = FieldKind::kSwitch,
     .owner = Owner::kOurs,
     .switch_text = "fail over|stay",
     .on = &MemberSettings::eject_sessions},
    {.name = "route",
     .form = "w_wr",
     .label = "Route",
     .kind = FieldKind::kText,
     .lo = 0,
     .hi = kMaxRouteChars,
     .chars = CharClass::kRoute,
     .traits = kIndexed,
     .width = 14,
     .text = &MemberSettings::route},
    {.name = "redirect",
     .form = "w_rr",
     .label = "Route redirect",
     .kind = FieldKind::kText,
     .lo = 0,
     .hi = kMaxRouteChars,
     .chars = CharClass::kRoute,
     .traits = kIndexed,
     .width = 14,
     .text = &MemberSettings::redirect},
    {.name = "status",
     .form = "w_status_",
     .label = "Status",
     .kind = FieldKind::kStatus,
     .bits = &MemberSettings::status},
    {.name = "hc_method",
     .form = "w_hm",
     .label = "Method",
     .kind = FieldKind::kText,
     .lo = 1,
     .hi = kMaxHcMethodChars,
     .chars = CharClass::kWord,
     .list = NameList::kHcMethods,
     .traits = kHealthCheck,
     .text = &MemberSettings::hc_method},
    {.name = "hc_interval_ms",
     .form = "w_hi",
     .label = "Interval ms",
     .kind = FieldKind::kCount,
     .lo = 100,
     .hi = 86'400'000,
     .unit = "milliseconds",
     .traits = kHealthCheck,
     .width = 7,
     .number = &MemberSettings::hc_interval_ms},
    {.name = "hc_passes",
     .form = "w_hp",
     .label = "Passes",
     .kind = FieldKind::kCount,
     .lo = 1,
     .hi = 1000,
     .unit = "a count",
     .traits = kHealthCheck,
     .width = 3,
     .number = &MemberSettings::hc_passes},
    {.name = "hc_fails",
     .form = "w_hf",
     .label = "Fails",
     .kind = FieldKind::kCount,
     .lo = 1,
     .hi = 1000,
     .unit = "a count",
     .traits = kHealthCheck,
     .width = 3,
     .number = &MemberSettings::hc_fails},
    {.name = "hc_uri",
     .form = "w_hu",
     .label = "URI",
     .kind = FieldKind::kText,
     .lo = 0,
     .hi = kMaxHcUriChars,
     .chars = CharClass::kUri,
     .traits = kHealthCheck,
     .width = 16,
     .text = &MemberSettings::hc_uri},
    {.name = "hc_expr",
     .form = "w_he",
     .label = "Expr",
     .kind = FieldKind::kText,
     .lo = 0,
     .hi = kMaxHcExprChars,
     .chars = CharClass::kWord,
     .traits = kHealthCheck,
     .width = 10,
     .text = &MemberSettings::hc_expr},
}};

inline constexpr std::array<BalancerField, 8> kBalancerFields = {{
    {.name = "lbmethod",
     .form = "b_lbm",
     .label = "LB method",
     .kind = FieldKind::kChoice,
     .list = NameList::kLbmethods,
     .text = &BalancerSettings::lbmethod},
    {.name = "timeout",
     .form = "b_tmo",
     .label = "Timeout s",
     .kind = FieldKind::kCount,
     .lo = 0,
     .hi = 7200,
     .unit = "seconds",
     .width = 5,
     .number = &BalancerSettings::timeout_s},
    {.name = "maxattempts",
     .form = "b_max",
     .label = "Failover attempts",
     .kind = FieldKind::kCount,
     .lo = 0,
     .hi = 99,
     .unit = "a number of attempts",
     .width = 3,
     .number = &BalancerSettings::max_attempts},
    // Stock's form asks "Failover: On/Off"; the setting is its opposite.
    {.name = "nofailover",
     .form = "b_sforce",
     .label = "Failover",
     .kind = FieldKind::kSwitch,
     .switch_text = "On|Off",
     .on = &BalancerSettings::sticky_force},
    {.name = "stickysession",
     .form = "b_ss",
     .label = "Sticky session ('-' for none)",
     .kind = FieldKind::kSticky,
     .lo = 0,
     .hi = kMaxStickyChars,
     .traits = kEmptyKeepsIt,
     .width = 24,
     .text = &BalancerSettings::sticky},
    {.name = "ejectpercent",
     .form = "b_epct",
     .label = "Most members out %",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 0,
     .hi = 100,
     .unit = "a percentage",
     .width = 3,
     .number = &BalancerSettings::eject_percent},
    {.name = "retrybudget",
     .form = "b_rbud",
     .label = "Retry budget %",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 0,
     .hi = 100,
     .unit = "a percentage",
     .width = 3,
     .number = &BalancerSettings::retry_budget_percent},
    {.name = "retryfloor",
     .form = "b_rfloor",
     .label = "Failovers always allowed",
     .kind = FieldKind::kCount,
     .owner = Owner::kOurs,
     .lo = 0,
     .hi = 1000,
     .unit = "a count",
     .width = 4,
     .number = &BalancerSettings::retry_budget_floor},
}};

// A set of fields of one table, by index.
using FieldSet = std::uint32_t;
static_assert(kMemberFields.size() <= 32 && kBalancerFields.size() <= 32);

// The names a kChoice field may take, by list; filled by the caller.
struct NameLists {
  std::span<const std::string_view> lbmethods;
  std::span<const std::string_view> hc_methods;
  std::span<const std::string_view> of(NameList list) const noexcept {
    return list == NameList::kLbmethods   ? lbmethods
           : list == NameList::kHcMethods ? hc_methods
                                          : std::span<const std::string_view>{};
  }
};

// Reads `text` into the field's value in `into`. False, and `into` unchanged,
// when the text is not one the field takes. Not for kStatus.
template <class S>
bool parse_value(const Field<S>& f, std::string_view text, S& into, const NameLists& names);

// What the field takes, completing "must be ...": "a load factor from 1 to 100
// (two decimals)", "at most 63 characters of letters, digits and - _ . ~ :".
template <class S>
std::string accepts(const Field<S>& f, const NameLists& names);

// The value as the form field takes it: parse_value() of it gives it back.
template <class S>
std::string form_value(const Field<S>& f, const S& s);

// The value as the audit log and the page's "differs" show it: the form value,
// but On/Off for a switch, the letters for the status and the sticky names
// without the '-'.
template <class S>
std::string shown_value(const Field<S>& f, const S& s);

template <class S>
bool same_value(const Field<S>& f, const S& a, const S& b) noexcept;

template <class S>
void copy_value(const Field<S>& f, const S& from, S& to);

// The entry of a form field, or nullptr.
const MemberField* member_field_by_form(std::string_view form) noexcept;
const BalancerField* balancer_field_by_form(std::string_view form) noexcept;

// The form field a JSON `set` key stands for: a field's form name, or
// w_status_X for a status flag's JSON name; nullopt for an unknown key.
std::optional<std::string> set_key_form(std::string_view key);

// The table of S's fields.
template <class S>
constexpr std::span<const Field<S>> fields_of() noexcept;
template <>
constexpr std::span<const MemberField> fields_of<MemberSettings>() noexcept {
  return kMemberFields;
}
template <>
constexpr std::span<const BalancerField> fields_of<BalancerSettings>() noexcept {
  return kBalancerFields;
}

// The entry of S named `name` (its `set` key and directive key), or nullptr.
template <class S>
constexpr const Field<S>* field_named(std::string_view name) noexcept {
  for (const Field<S>& f : fields_of<S>()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The bit of entry `f` (one of fields_of<S>()) in a FieldSet.
template <class S>
constexpr FieldSet field_bit(const Field<S>& f) noexcept {
  return FieldSet{1} << (&f - fields_of<S>().data());
}

// `into` with the values of the fields in `fields` taken from `values`.
template <class S>
S with_values(S into, const S& values, FieldSet fields) {
  for (const Field<S>& f : fields_of<S>()) {
    if ((fields & field_bit(f)) != 0) copy_value(f, values, into);
  }
  return into;
}

// The index in fields_of<S>() of the field that holds `m`, a member of S.
template <class S, class T>
constexpr std::size_t field_index(T S::*m) noexcept {
  const auto table = fields_of<S>();
  for (std::size_t i = 0; i < table.size(); ++i) {
    if constexpr (std::is_same_v<T, std::int64_t>) {
      if (table[i].number == m) return i;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (table[i].text == m) return i;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (table[i].on == m) return i;
    } else {
      if (table[i].bits == m) return i;
    }
  }
  return table.size();
}

// Whether every character of `s` is of class `c`.
bool all_of_class(CharClass c, std::string_view s) noexcept;

// A decimal number from lo to hi: digits only, no sign, no spaces.
std::optional<std::int64_t> parse_decimal(std::string_view s, std::int64_t lo,
                                          std::int64_t hi) noexcept;

// loadfactor x 100 as text: 100 -> "1", 250 -> "2.5".
std::string format_loadfactor(std::int64_t lbfactor);

// The status flags as letters, in stock's order: "D", "NH", "" ...
std::string status_letters(std::uint32_t status);

}  // namespace isb

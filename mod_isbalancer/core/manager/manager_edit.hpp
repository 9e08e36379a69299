// What an operator may change through the balancer-manager, and how a change is
// parsed and validated. Pure functions: the httpd layer reads the request, hands
// the text over, and applies an EditRequest only when every field of it is valid,
// so a bad value changes nothing.
//
// One vocabulary serves every way in: the stock page's form fields (b, w, nonce,
// w_lf, w_status_D, b_nwrkr, ...), the JSON edit API (mapped onto the same
// names) and the persisted state file (a list of such forms, replayed at start).
// The settings' fields come from the schema (core/config/schema.hpp); this file
// adds the request's own: which balancer and member, the nonce, add and remove.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/schema.hpp"

namespace isb {

// Bounds on anything an edit request may carry. A request over them is refused
// as a whole.
inline constexpr std::size_t kMaxEditBytes = 8192;
inline constexpr std::size_t kMaxEditFields = 64;
struct FormField {
  std::string name;
  std::string value;
  bool operator==(const FormField&) const = default;
};

// Why a request was refused: the field it concerns (empty when it is the request
// as a whole) and what to do about it.
struct EditError {
  std::string field;
  std::string message;
};

// application/x-www-form-urlencoded text (a query string or a POST body).
std::optional<std::vector<FormField>> parse_form(std::string_view text, EditError& err);

// The JSON edit API body, mapped onto the form vocabulary:
//   {"nonce": "...", "balancer": "name", "member": "http://host:port",
//    "set": {"loadfactor": 2, "disabled": true, "lbmethod": "bybusyness", ...},
//    "add": "http://new:8080", "remove": true}
// See docs/manager.md "JSON edit API" for every key.
std::optional<std::vector<FormField>> parse_json_edit(std::string_view text, EditError& err);

// Encodes fields as application/x-www-form-urlencoded text.
std::string encode_form(std::span<const FormField> fields);

// Percent-encodes everything but RFC 3986's unreserved characters and those in
// `keep`: one form component, or one query parameter of a URL. The page's member
// links keep ':' and '/' (w=http://host:port), as stock writes them and as
// scripts that read them (ansible's apache2_mod_proxy) expect.
std::string percent_encode(std::string_view s, std::string_view keep = {});

// The form of a member URL that two spellings of one member share, for
// comparing: scheme and host lower-cased, the scheme's default port dropped (as
// mod_proxy connects to it: http/ws/h2c 80, https/wss/h2 443, ajp 8009, fcgi
// 8000, scgi 4000), a lone "/" path dropped; the rest of the path as it is (paths
// are case-sensitive). "HTTP://Host:80/" and "http://host" are one member;
// ".../App" and ".../app" are two. Text that is not a URL is returned as it is.
std::string member_key(std::string_view url);

// One changed value, for the audit log and the page's "differs from the
// configuration" marks. `field` is the JSON/docs name ("loadfactor", "status").
struct FieldChange {
  std::string field;
  std::string before;
  std::string after;
};

std::vector<FieldChange> diff(const MemberSettings& before, const MemberSettings& after,
                              bool with_health_checks);
std::vector<FieldChange> diff(const BalancerSettings& before, const BalancerSettings& after);

// The form fields that turn `from` into `to` (an empty list when they are equal).
std::vector<FormField> edit_fields(const MemberSettings& from, const MemberSettings& to,
                                   bool with_health_checks);
std::vector<FormField> edit_fields(const BalancerSettings& from, const BalancerSettings& to);

// A validated edit: the settings it writes, and what else it asks for.
struct EditRequest {
  std::string balancer;  // without "balancer://"
  std::string member;    // a member URL; empty when the edit is for the balancer only
  std::string nonce;
  bool has_nonce = false;

  // The fields named in member_fields (bit i: kMemberFields[i]) hold the values
  // to write; the status flags are written as bits to set and to clear.
  MemberSettings member_values;
  FieldSet member_fields = 0;
  std::uint32_t status_set = 0;
  std::uint32_t status_clear = 0;
  bool remove = false;

  BalancerSettings balancer_values;  // the fields named in balancer_fields
  FieldSet balancer_fields = 0;
  std::optional<std::string> add_member;  // a URL, already checked for shape

  // The value the edit writes to the setting `m` (&MemberSettings::route, ...),
  // or nothing when it leaves it alone.
  template <class S, class T>
  std::optional<T> value(T S::*m) const {
    const std::size_t i = field_index(m);
    if constexpr (std::is_same_v<S, MemberSettings>) {
      if ((member_fields >> i & 1U) != 0) return member_values.*m;
    } else {
      if ((balancer_fields >> i & 1U) != 0) return balancer_values.*m;
    }
    return std::nullopt;
  }

  // Makes the edit write `v` to the setting `m`.
  template <class S, class T>
  void set(T S::*m, std::type_identity_t<T> v) {
    const FieldSet bit = FieldSet{1} << field_index(m);
    if constexpr (std::is_same_v<S, MemberSettings>) {
      member_values.*m = std::move(v);
      member_fields |= bit;
    } else {
      balancer_values.*m = std::move(v);
      balancer_fields |= bit;
    }
  }

  bool edits_member() const noexcept;
  bool edits_balancer() const noexcept;
  bool edits_anything() const noexcept { return edits_member() || edits_balancer(); }
  bool edits_health_checks() const noexcept;

  MemberSettings applied(MemberSettings s) const;
  BalancerSettings applied(BalancerSettings s) const;
};

struct EditRules {
  std::span<const std::string_view> lbmethods;  // names b_lbm may take
  bool health_checks = false;                   // mod_proxy_hcheck is loaded
};

// Validates `fields` as a whole. Unknown fields, repeated fields, values out of
// range or of the wrong shape give nullopt and `err` naming the field.
// "xml" is accepted and ignored (it selects an output format).
std::optional<EditRequest> parse_edit(std::span<const FormField> fields, const EditRules& rules,
                                      EditError& err);

// Compares two nonces in time that depends only on the length of `expected`.
bool nonce_equal(std::string_view expected, std::string_view given) noexcept;

}  // namespace isb

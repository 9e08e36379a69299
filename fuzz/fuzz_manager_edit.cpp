// libFuzzer target: everything that parses a balancer-manager edit or a saved one.
//
// The first byte chooses the way in (a form body, or the JSON edit API); the
// rest is the request body. Contracts checked: the parsers stay within their
// limits, an accepted form re-encodes to the same fields, an accepted edit only
// touches the operator-settable status bits, applying it gives settings whose
// edit_fields (what the state file stores) parse back to the same settings, and
// every value that reaches a shared-memory field fits it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/manager/manager_edit.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// The lbmethod names b_lbm may take here: a subset of the registry's, which this
// target does not link (policy/selector.cpp).
constexpr std::array<std::string_view, 3> kMethods = {"byrequests", "bybusyness", "bytraffic"};

// Whether every value the edit sets is within its field's range and length.
template <class Table, class S>
bool fits(const Table& table, const S& values, isb::FieldSet set) {
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& f = table[i];
    if ((set >> i & 1U) == 0) continue;
    if (f.number && (values.*f.number < f.lo || values.*f.number > f.hi)) return false;
    if (f.text && f.kind != isb::FieldKind::kChoice &&
        (values.*f.text).size() > static_cast<std::size_t>(f.hi)) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool json = (data[0] & 1) != 0;
  const bool hc = (data[0] & 2) != 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  isb::EditError err;
  auto fields = json ? isb::parse_json_edit(body, err) : isb::parse_form(body, err);
  if (!fields) return 0;
  require(fields->size() <= isb::kMaxEditFields + 1);
  if (!json) {
    // Re-encoding percent-encodes raw bytes (one byte becomes three), so the
    // round trip is checked only where the encoded form is within the limit.
    const std::string encoded = isb::encode_form(*fields);
    if (encoded.size() <= isb::kMaxEditBytes) {
      auto again = isb::parse_form(encoded, err);
      require(again && *again == *fields);
    }
  }
  auto e = isb::parse_edit(*fields, isb::EditRules{kMethods, hc}, err);
  if (!e) {
    require(!err.message.empty());
    return 0;
  }
  require(((e->status_set | e->status_clear) & ~isb::kAdminBits) == 0);
  // Every value the edit writes is within its schema range, so it fits the
  // mod_proxy field it goes to.
  require(fits(isb::kMemberFields, e->member_values, e->member_fields));
  require(fits(isb::kBalancerFields, e->balancer_values, e->balancer_fields));
  require(!e->add_member || e->add_member->size() <= isb::kMaxMemberUrlChars);
  if (e->edits_member() && !e->remove) {
    isb::MemberSettings before;
    isb::MemberSettings after = e->applied(before);
    std::vector<isb::FormField> replay = {{"b", "c"}, {"w", "http://a"}};
    for (auto& f : isb::edit_fields(before, after, hc)) replay.push_back(f);
    auto back = isb::parse_edit(replay, isb::EditRules{kMethods, hc}, err);
    require(back && back->applied(before) == after);
  }
  if (e->edits_balancer()) {
    isb::BalancerSettings before{"byrequests", 0, 0, false, "JSESSIONID|jsessionid"};
    isb::BalancerSettings after = e->applied(before);
    std::vector<isb::FormField> replay = {{"b", "c"}};
    for (auto& f : isb::edit_fields(before, after)) replay.push_back(f);
    auto back = isb::parse_edit(replay, isb::EditRules{kMethods, hc}, err);
    require(back && back->applied(before) == after);
  }
  return 0;
}

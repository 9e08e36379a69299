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
  require(!e->route || e->route->size() <= isb::kMaxRouteChars);
  require(!e->redirect || e->redirect->size() <= isb::kMaxRouteChars);
  require(!e->sticky_cookie || e->sticky_cookie->size() <= isb::kMaxStickyChars);
  require(!e->add_member || e->add_member->size() <= isb::kMaxMemberUrlChars);
  require(!e->lbfactor || (*e->lbfactor >= 100 && *e->lbfactor <= 10000));
  if (e->edits_member() && !e->remove) {
    isb::MemberSettings before;
    isb::MemberSettings after = e->applied(before);
    std::vector<isb::FormField> replay = {{"b", "c"}, {"w", "http://a"}};
    for (auto& f : isb::edit_fields(before, after, hc)) replay.push_back(f);
    auto back = isb::parse_edit(replay, isb::EditRules{kMethods, hc}, err);
    require(back && back->applied(before) == after);
  }
  return 0;
}

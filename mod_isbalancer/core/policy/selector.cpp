#include "core/policy/selector.hpp"

#include <array>

namespace isb {

const Selector& byrequests_selector() noexcept;
const Selector& bybusyness_selector() noexcept;
const Selector& bytraffic_selector() noexcept;
const Selector& leastrequest_selector() noexcept;
const Selector& bylatency_selector() noexcept;

namespace {
// The order is part of the shared segment (BalancerCounters::selector): append only.
constexpr std::array<std::string_view, kSelectorCount> kNames = {
    "byrequests", "bybusyness", "bytraffic", "leastrequest", "bylatency"};

const std::array<const Selector*, kNames.size()>& by_index() noexcept {
  static const std::array<const Selector*, kNames.size()> selectors = {
      &byrequests_selector(), &bybusyness_selector(), &bytraffic_selector(),
      &leastrequest_selector(), &bylatency_selector()};
  return selectors;
}
}  // namespace

const Selector* find_selector(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return by_index()[i];
  }
  return nullptr;
}

std::span<const std::string_view> selector_names() noexcept {
  return kNames;
}

const Selector* selector_at(std::size_t index) noexcept {
  return index < kNames.size() ? by_index()[index] : nullptr;
}

std::string selector_list() {
  std::string out;
  for (std::string_view name : kNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::uint32_t selector_number(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<std::uint32_t>(i + 1);
  }
  return 0;
}

const Selector* balancer_selector(std::uint32_t edited, const Selector* configured) noexcept {
  if (edited != 0) {
    if (const Selector* s = selector_at(edited - 1)) return s;
  }
  return configured != nullptr ? configured : find_selector("byrequests");
}

}  // namespace isb

#include "selector.hpp"

#include <array>

namespace isb {

const Selector& byrequests_selector() noexcept;
const Selector& bybusyness_selector() noexcept;
const Selector& bytraffic_selector() noexcept;

namespace {
constexpr std::array<std::string_view, 3> kNames = {"byrequests", "bybusyness", "bytraffic"};
}  // namespace

const Selector* find_selector(std::string_view name) noexcept {
  if (name == "byrequests") return &byrequests_selector();
  if (name == "bybusyness") return &bybusyness_selector();
  if (name == "bytraffic") return &bytraffic_selector();
  return nullptr;
}

std::span<const std::string_view> selector_names() noexcept {
  return kNames;
}

const Selector* selector_at(std::size_t index) noexcept {
  static const std::array<const Selector*, kNames.size()> kByIndex = {
      &byrequests_selector(), &bybusyness_selector(), &bytraffic_selector()};
  return index < kByIndex.size() ? kByIndex[index] : nullptr;
}

}  // namespace isb

#include "core/persist/runtime_edits.hpp"

#include <utility>

namespace isb {

std::vector<std::vector<FormField>> runtime_edits(std::string_view balancer,
                                                  const BalancerSettings& configured,
                                                  const BalancerSettings& current,
                                                  std::span<const MemberSlotView> members,
                                                  bool with_health_checks) {
  std::vector<std::vector<FormField>> out;
  // One form: b=<name>, then `head`, then `tail`; nothing when `tail` is empty.
  auto form = [&](std::vector<FormField> head, const std::vector<FormField>& tail) {
    if (tail.empty()) return;
    std::vector<FormField> fields{{"b", std::string(balancer)}};
    for (auto& f : head) fields.push_back(std::move(f));
    for (const auto& f : tail) fields.push_back(f);
    out.push_back(std::move(fields));
  };
  form({}, edit_fields(configured, current));
  // A new member starts as an add leaves it.
  MemberSettings added_default;
  added_default.status = kDisabled;
  for (const MemberSlotView& m : members) {
    const std::string name(m.name);
    if (m.configured != nullptr) {
      if (m.state == SlotState::kRemoved) {
        form({{"w", name}}, {{"w_remove", "1"}});
        continue;
      }
      form({{"w", name}}, edit_fields(*m.configured, m.current, with_health_checks));
    } else if (m.state == SlotState::kActive) {
      form({{"b_nwrkr", name}}, {{"b_wyes", "1"}});
      form({{"w", name}}, edit_fields(added_default, m.current, with_health_checks));
    }
  }
  return out;
}

}  // namespace isb

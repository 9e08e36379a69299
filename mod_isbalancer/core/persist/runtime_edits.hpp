// The runtime edits of one balancer, as the forms that recreate them on top of
// its configuration: what a restart carries over and BalancerPersist writes to
// the state file (state_file.hpp), one form per line, replayed through
// parse_edit at start-up.
//
//   - balancer fields that differ from the configuration: one form;
//   - a configured member that was removed: `w_remove=1`;
//   - a configured member whose fields differ: one form with those fields;
//   - a member added at run time: its add (`b_nwrkr`, `b_wyes`), then one form
//     with whatever differs from how an add leaves a member (disabled).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/manager/manager_edit.hpp"
#include "core/shm/shared_state.hpp"

namespace isb {

// One member slot of a balancer.
struct MemberSlotView {
  std::string_view name;                       // the member's URL
  SlotState state = SlotState::kFree;          // shared_state.hpp
  const MemberSettings* configured = nullptr;  // nullptr: a growth slot
  MemberSettings current;                      // as the member is now
};

std::vector<std::vector<FormField>> runtime_edits(std::string_view balancer,
                                                  const BalancerSettings& configured,
                                                  const BalancerSettings& current,
                                                  std::span<const MemberSlotView> members,
                                                  bool with_health_checks);

}  // namespace isb

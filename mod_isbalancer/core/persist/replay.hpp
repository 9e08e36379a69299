// Saved edits replayed at start-up, on a fresh segment, through the same
// validation as an operator's edit (persist.hpp in the httpd layer says when
// edits are saved and where). This decides, for each saved edit, which balancer
// it is for, whether it is left alone, or why it no longer applies; the httpd
// layer applies the rest (manager/apply.hpp) and logs what is skipped.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "core/config/scope.hpp"
#include "core/manager/manager_edit.hpp"
#include "core/manager/refusal.hpp"
#include "core/persist/state_file.hpp"

namespace isb {

// Where the edits to replay come from. A kept segment still holds its edits; a
// fresh one takes those the previous generation carried over (a graceful restart
// with a changed configuration), or else the state file's (a full start).
enum class ReplaySource { kNone, kPreviousGeneration, kStateFile };
ReplaySource replay_source(bool fresh_segment, bool carried_any) noexcept;

// One balancer of this generation as a saved edit can name it.
struct ReplayBalancer {
  ScopedBalancer where;
  bool persist = false;  // BalancerPersist On for its virtual host
};

struct ReplayStep {
  enum class Action {
    kApply,   // apply `edit` to balancers[balancer]
    kIgnore,  // from the state file, for a balancer that no longer persists: not counted
    kSkip,    // `refused` says why it no longer applies
  };
  Action action = Action::kSkip;
  std::optional<EditRequest> edit;
  std::size_t balancer = 0;
  std::optional<Refusal> refused;
};

// What to do with one saved edit:
//   400 (the field parse_edit names)  the form no longer validates;
//   409 `b`  the balancer's name fits balancers of several virtual hosts;
//   404 `b`  no balancer of that name in that scope;
// and an edit from the state file for a balancer whose virtual host no longer has
// BalancerPersist On is ignored.
ReplayStep plan_replay(const SavedEdit& saved, std::span<const ReplayBalancer> balancers,
                       const EditRules& rules, bool from_file);

// How a replay went. Ignored edits are not counted; a notice (ISB00023) is worth
// logging only when an edit was applied or skipped.
struct ReplayTally {
  int applied = 0;
  int skipped = 0;
  // Counts one edit: skipped when it was refused, by plan_replay or when applied.
  void count(const std::optional<Refusal>& refused) noexcept { ++(refused ? skipped : applied); }
  bool worth_a_notice() const noexcept { return applied + skipped > 0; }
};

}  // namespace isb

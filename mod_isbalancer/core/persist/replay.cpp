#include "core/persist/replay.hpp"

#include <string>

namespace isb {

ReplaySource replay_source(bool fresh_segment, bool carried_any) noexcept {
  if (!fresh_segment) return ReplaySource::kNone;
  return carried_any ? ReplaySource::kPreviousGeneration : ReplaySource::kStateFile;
}

ReplayStep plan_replay(const SavedEdit& saved, std::span<const ReplayBalancer> balancers,
                       const EditRules& rules, bool from_file) {
  ReplayStep step;
  EditError err;
  step.edit = parse_edit(saved.fields, rules, err);
  if (!step.edit) {
    step.refused = Refusal{http::kBadRequest, err.field, err.message};
    return step;
  }
  std::vector<ScopedBalancer> where;
  where.reserve(balancers.size());
  for (const ReplayBalancer& b : balancers) where.push_back(b.where);
  const ScopeMatch found = match_scope(where, saved.scope, step.edit->balancer);
  if (found.index && from_file && !balancers[*found.index].persist) {
    step.action = ReplayStep::Action::kIgnore;
    step.edit.reset();
    return step;
  }
  if (found.matches > 1) {
    std::string why = "the balancer of ";
    why.append(std::to_string(found.matches))
        .append(" virtual hosts fits it; give each its own ServerName or address");
    step.refused = Refusal{http::kConflict, "b", std::move(why)};
  } else if (!found.index) {
    step.refused = Refusal{http::kNotFound, "b", "no such balancer in this configuration"};
  }
  if (step.refused) {
    step.edit.reset();
    return step;
  }
  step.action = ReplayStep::Action::kApply;
  step.balancer = *found.index;
  return step;
}

}  // namespace isb

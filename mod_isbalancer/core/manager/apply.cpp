#include "core/manager/apply.hpp"

#include "core/health/slow_start.hpp"

namespace isb {

bool edits_added_member(const EditRequest& e) {
  return e.add_member && !e.member.empty() && member_key(*e.add_member) == member_key(e.member);
}

std::optional<Refusal> refuse_edit(const EditRequest& e, const EditFacts& facts) {
  if (e.edits_member() && !edits_added_member(e) && !facts.member_found) {
    return Refusal{http::kBadRequest, "w", "the balancer has no member " + e.member};
  }
  if (e.value(&MemberSettings::hc_method) && !facts.hc_method_known) {
    return Refusal{http::kBadRequest, "w_hm", "is not a health-check method mod_proxy_hcheck has"};
  }
  if (e.add_member && facts.added_exists) {
    return Refusal{http::kConflict, "b_nwrkr", "the balancer already has this member"};
  }
  return std::nullopt;
}

std::string member_change_line(std::string_view member, const FieldChange& c) {
  std::string out = "member ";
  out += member;
  out += ": ";
  out += c.field;
  out += ' ';
  out += c.before.empty() ? "\"\"" : c.before;
  out += " -> ";
  out += c.after.empty() ? "\"\"" : c.after;
  return out;
}

void note_balancer_changes(const BalancerSettings& before, const BalancerSettings& after,
                           std::vector<std::string>& out, CreditReset& reset) {
  for (const FieldChange& c : diff(before, after)) {
    std::string line = c.field;
    line += ' ';
    line += c.before;
    line += " -> ";
    line += c.after;
    out.push_back(std::move(line));
    reset.method_changed = reset.method_changed || c.field == "lbmethod";
  }
}

bool note_member_changes(std::string_view member, const MemberSettings& before,
                         const MemberSettings& after, bool health_checks,
                         std::vector<std::string>& out) {
  bool rebuild = false;
  for (const FieldChange& c : diff(before, after, health_checks)) {
    out.push_back(member_change_line(member, c));
    rebuild = rebuild || rebuilds_member_indexes(c);
  }
  return rebuild;
}

bool rebuilds_member_indexes(const FieldChange& c) {
  const MemberField* f = field_named<MemberSettings>(c.field);
  return f != nullptr && f->has(kIndexed);
}

bool ends_ejection(const MemberSettings& before, const MemberSettings& after) {
  auto any_rule = [](const MemberSettings& m) {
    return m.eject_5xx != 0 || m.eject_gateway != 0 || m.eject_fail_percent != 0;
  };
  const bool turned_off = any_rule(before) && !any_rule(after);
  // Only the operator's flags are in settings: in_service() of them says
  // whether the operator keeps the member out.
  return turned_off || (!in_service(before.status) && in_service(after.status));
}

bool ends_ejections(const BalancerSettings& before, const BalancerSettings& after) {
  return before.eject_percent != 0 && after.eject_percent == 0;
}

}  // namespace isb

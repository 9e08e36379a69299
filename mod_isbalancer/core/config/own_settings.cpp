#include "core/config/own_settings.hpp"

namespace isb {
namespace {

template <class S>
const Field<S>* by_name(std::string_view name) {
  for (const Field<S>& f : fields_of<S>()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

template <class S>
void append_names(std::string& out) {
  for (const Field<S>& f : fields_of<S>()) {
    if (f.owner != Owner::kOurs) continue;
    if (!out.empty()) out += ", ";
    out += f.name;
  }
}

template <class S>
std::size_t index_in(const Field<S>& f) {
  return static_cast<std::size_t>(&f - fields_of<S>().data());
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  out += s;
  out += "'";
  return out;
}

}  // namespace

MemberSettings OwnSettings::applied(MemberSettings into) const {
  for (std::size_t i = 0; i < kMemberFields.size(); ++i) {
    if ((member_fields >> i & 1U) != 0) copy_value(kMemberFields[i], member, into);
  }
  return into;
}

std::string own_setting_names(SettingScope scope) {
  std::string out;
  append_names<MemberSettings>(out);
  if (scope == SettingScope::kBalancer) append_names<BalancerSettings>(out);
  return out;
}

std::optional<std::string> parse_own_settings(std::string_view directive, SettingScope scope,
                                              std::span<const std::string_view> words,
                                              OwnSettings& out) {
  const std::string who(directive);
  if (words.empty()) {
    return who + ": give at least one setting as key=value; it takes " + own_setting_names(scope);
  }
  const NameLists no_lists{};
  for (std::string_view word : words) {
    const std::size_t eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return who + ": " + quoted(word) + " is not key=value; it takes " + own_setting_names(scope);
    }
    const std::string_view key = word.substr(0, eq);
    const std::string_view value = word.substr(eq + 1);
    // The value is read into a copy first: a refused word changes nothing.
    auto take = [&](const auto& f, auto& values, FieldSet& given) -> std::optional<std::string> {
      if (f.owner != Owner::kOurs) {
        return who + ": " + std::string(key) +
               " is mod_proxy's; set it on the BalancerMember line (a member's) or with " +
               "ProxySet (a balancer's), where mod_proxy reads it";
      }
      const FieldSet bit = FieldSet{1} << index_in(f);
      if ((given & bit) != 0) return who + ": " + std::string(key) + " is given twice";
      auto copy = values;
      if (!parse_value(f, value, copy, no_lists)) {
        return who + ": " + quoted(word) + ": " + std::string(key) + " must be " +
               accepts(f, no_lists);
      }
      values = std::move(copy);
      given |= bit;
      return std::nullopt;
    };
    if (const MemberField* f = by_name<MemberSettings>(key)) {
      if (auto err = take(*f, out.member, out.member_fields)) return err;
      continue;
    }
    const BalancerField* b = by_name<BalancerSettings>(key);
    if (b != nullptr && (scope == SettingScope::kBalancer || b->owner != Owner::kOurs)) {
      if (auto err = take(*b, out.balancer, out.balancer_fields)) return err;
      continue;
    }
    if (b != nullptr) {
      return who + ": " + std::string(key) + " is a balancer's setting; give it to ISBalancerSet";
    }
    return who + ": unknown setting " + quoted(key) + "; it takes " + own_setting_names(scope);
  }
  return std::nullopt;
}

}  // namespace isb

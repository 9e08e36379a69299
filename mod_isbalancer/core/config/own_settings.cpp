#include "core/config/own_settings.hpp"

#include "core/manager/manager_edit.hpp"
#include "core/routing/balancer_url.hpp"
#include "core/text/host.hpp"

namespace isb {
namespace {

template <class S>
void append_names(std::string& out) {
  for (const Field<S>& f : fields_of<S>()) {
    if (f.owner != Owner::kOurs) continue;
    if (!out.empty()) out += ", ";
    out += f.name;
  }
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  out += s;
  out += "'";
  return out;
}

}  // namespace

MemberSettings OwnSettings::applied(MemberSettings into) const {
  return with_values(std::move(into), member, member_fields);
}

BalancerSettings OwnSettings::applied(BalancerSettings into) const {
  return with_values(std::move(into), balancer, balancer_fields);
}

namespace {

constexpr std::int64_t kUsPerSecond = 1'000'000;

// Each own member setting, with where it lives in MemberCounters and its unit
// there: one list for reading, writing and writing an edit.
template <class Visit>
void own_member_values(Visit&& visit) {
  using M = MemberSettings;
  using C = MemberCounters;
  visit(&M::slowstart_s, &C::slowstart_us, kUsPerSecond);
  visit(&M::eject_5xx, &C::eject_5xx, 1);
  visit(&M::eject_gateway, &C::eject_gateway, 1);
  visit(&M::eject_fail_percent, &C::eject_fail_percent, 1);
  visit(&M::eject_min_requests, &C::eject_min_requests, 1);
  visit(&M::eject_time_s, &C::eject_time_us, kUsPerSecond);
  visit(&M::eject_max_s, &C::eject_max_us, kUsPerSecond);
}

// The switches among them, kept as 0 or 1.
template <class Visit>
void own_member_switches(Visit&& visit) {
  using M = MemberSettings;
  using C = MemberCounters;
  visit(&M::slowstart_at_start, &C::slowstart_at_start);
  visit(&M::eject_sessions, &C::eject_sessions);
}

template <class Visit>
void own_balancer_values(Visit&& visit) {
  using B = BalancerSettings;
  using C = BalancerCounters;
  visit(&B::eject_percent, &C::eject_percent);
  visit(&B::retry_budget_percent, &C::retry_budget_percent);
  visit(&B::retry_budget_floor, &C::retry_budget_floor);
}

}  // namespace

MemberSettings with_own_settings(MemberSettings m, const MemberCounters& c) {
  own_member_values([&](auto setting, auto counter, std::int64_t unit) {
    m.*setting = (c.*counter).load(std::memory_order_relaxed) / unit;
  });
  own_member_switches([&](auto setting, auto counter) {
    m.*setting = (c.*counter).load(std::memory_order_relaxed) != 0;
  });
  return m;
}

void write_own_settings(MemberCounters& c, const MemberSettings& m) {
  own_member_values([&](auto setting, auto counter, std::int64_t unit) {
    (c.*counter).store(m.*setting * unit, std::memory_order_relaxed);
  });
  own_member_switches([&](auto setting, auto counter) {
    (c.*counter).store(m.*setting ? 1 : 0, std::memory_order_relaxed);
  });
}

void write_own_settings(const SharedState& state, std::uint32_t first,
                        std::span<const std::optional<MemberSettings>> configured) {
  for (std::uint32_t k = 0; k < configured.size(); ++k) {
    if (configured[k]) write_own_settings(state.member(first + k), *configured[k]);
  }
}

void write_own_settings(MemberCounters& c, const EditRequest& e) {
  own_member_values([&](auto setting, auto counter, std::int64_t unit) {
    if (auto v = e.value(setting)) (c.*counter).store(*v * unit, std::memory_order_relaxed);
  });
  own_member_switches([&](auto setting, auto counter) {
    if (auto v = e.value(setting)) (c.*counter).store(*v ? 1 : 0, std::memory_order_relaxed);
  });
}

BalancerSettings with_own_settings(BalancerSettings b, const BalancerCounters& c) {
  own_balancer_values([&](auto setting, auto counter) {
    b.*setting = (c.*counter).load(std::memory_order_relaxed);
  });
  return b;
}

void write_own_settings(BalancerCounters& c, const BalancerSettings& b) {
  own_balancer_values([&](auto setting, auto counter) {
    (c.*counter).store(b.*setting, std::memory_order_relaxed);
  });
}

void write_own_settings(BalancerCounters& c, const EditRequest& e) {
  own_balancer_values([&](auto setting, auto counter) {
    if (auto v = e.value(setting)) (c.*counter).store(*v, std::memory_order_relaxed);
  });
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
      const FieldSet bit = field_bit(f);
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
    if (const MemberField* f = field_named<MemberSettings>(key)) {
      if (auto err = take(*f, out.member, out.member_fields)) return err;
      continue;
    }
    const BalancerField* b = field_named<BalancerSettings>(key);
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

bool is_balancer_word(std::string_view word) {
  return word.size() > kBalancerPrefix.size() &&
         lower_ascii(word.substr(0, kBalancerPrefix.size())) == kBalancerPrefix;
}

std::optional<std::string> parse_own_line(std::string_view directive, SettingScope scope,
                                          std::optional<std::string_view> section,
                                          std::span<const std::string_view> words, OwnLine& out) {
  const std::string who(directive);
  std::size_t next = 0;
  if (section) {
    if (!is_balancer_word(*section)) {
      return who +
             " belongs in a <Proxy balancer://...> section or at server or virtual-host level, "
             "not in <" +
             std::string(*section) + ">";
    }
    out.balancer = *section;
  } else if (!words.empty() && is_balancer_word(words[0])) {
    out.balancer = words[next++];
  } else {
    return who + " outside <Proxy balancer://...> names its balancer first: " + who +
           " balancer://NAME " +
           (scope == SettingScope::kMember ? "MEMBER-URL key=value" : "key=value");
  }
  if (scope == SettingScope::kMember) {
    if (next == words.size() || words[next].find("://") == std::string_view::npos) {
      return who +
             ": give the member's URL as its BalancerMember line has it, then key=value, e.g. " +
             who + " https://node1:9443 slowstart=60";
    }
    out.member = words[next++];
  }
  return parse_own_settings(directive, scope, words.subspan(next), out.settings);
}

std::optional<std::string> apply_own_lines(std::span<const OwnSettingsLine> lines,
                                           std::span<ConfiguredBalancer> balancers) {
  std::vector<bool> used(lines.size(), false);
  // The line that gave each setting, per member slot (and, last, for the
  // balancer's defaults): a setting given by two lines is a mistake to name.
  struct Given {
    FieldSet fields = 0;
    std::vector<std::string_view> where = std::vector<std::string_view>(kMemberFields.size());
    FieldSet balancer_fields = 0;
    std::vector<std::string_view> balancer_where =
        std::vector<std::string_view>(kBalancerFields.size());
  };
  // Records that `line` gives `fields` of table S; names the first one an
  // earlier line gave already.
  auto give_fields = [](const auto& table, FieldSet& had, std::vector<std::string_view>& where,
                        FieldSet fields, const OwnSettingsLine& line,
                        std::string_view what) -> std::optional<std::string> {
    const FieldSet twice = had & fields;
    for (std::size_t i = 0; i < table.size(); ++i) {
      if ((twice >> i & 1U) == 0) continue;
      std::string out(line.where);
      out += ": ";
      out += table[i].name;
      out += " of ";
      out += what;
      out += " is given already, at ";
      out += where[i];
      out += "; give it once";
      return out;
    }
    for (std::size_t i = 0; i < table.size(); ++i) {
      if ((fields >> i & 1U) != 0) where[i] = line.where;
    }
    had |= fields;
    return std::nullopt;
  };
  auto give = [&](Given& g, const OwnSettingsLine& line,
                  std::string_view what) -> std::optional<std::string> {
    if (auto twice = give_fields(kMemberFields, g.fields, g.where, line.settings->member_fields,
                                 line, what)) {
      return twice;
    }
    return give_fields(kBalancerFields, g.balancer_fields, g.balancer_where,
                       line.settings->balancer_fields, line, what);
  };
  for (ConfiguredBalancer& b : balancers) {
    std::vector<Given> given(b.configured.size() + 1);
    for (int pass = 0; pass < 2; ++pass) {
      const bool member_lines = pass == 1;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const OwnSettingsLine& line = lines[i];
        // The line's "balancer://c/" (any case, a path or not) names balancer://c.
        if (line.member.empty() == member_lines || line.server != b.server ||
            !names_balancer(b.name, balancer_of_url(line.balancer))) {
          continue;
        }
        used[i] = true;
        const OwnSettings& settings = *line.settings;
        if (!member_lines) {
          if (auto twice = give(given.back(), line, b.name)) return twice;
          b.defaults->member = settings.applied(b.defaults->member);
          b.defaults->member_fields |= settings.member_fields;
          b.defaults->balancer = settings.applied(b.defaults->balancer);
          b.defaults->balancer_fields |= settings.balancer_fields;
          for (auto& configured : b.configured) {
            if (configured) *configured = settings.applied(*configured);
          }
          continue;
        }
        const std::string want = member_key(line.member);
        bool found = false;
        for (std::size_t k = 0; k < b.configured.size() && k < b.member_urls.size(); ++k) {
          if (!b.configured[k] || member_key(b.member_urls[k]) != want) continue;
          if (auto twice = give(given[k], line, b.member_urls[k])) return twice;
          *b.configured[k] = settings.applied(*b.configured[k]);
          found = true;
        }
        if (!found) {
          std::string out(line.where);
          out += ": ISBalancerMemberSet names ";
          out += line.member;
          out += ", which is not a BalancerMember of ";
          out += b.name;
          out += "; write the member's URL as its BalancerMember line has it";
          return out;
        }
      }
    }
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (used[i]) continue;
    const OwnSettingsLine& line = lines[i];
    std::string out(line.where);
    out += line.member.empty() ? ": ISBalancerSet names " : ": ISBalancerMemberSet names ";
    out += line.balancer;
    out +=
        ", which no <Proxy> section or ProxyPass of this server or virtual host defines "
        "with BalancerMember lines; write the line where the balancer is defined";
    return out;
  }
  return std::nullopt;
}

std::string own_lines_text(std::span<const OwnSettingsLine> lines) {
  std::string text;
  for (const OwnSettingsLine& line : lines) {
    text += line.balancer;
    text += '\n';
    text += line.member;
    text += '\n';
    auto add = [&text](const std::vector<FormField>& fields) {
      for (const auto& f : fields) {
        text += f.name;
        text += '=';
        text += f.value;
        text += '\n';
      }
    };
    add(edit_fields(MemberSettings{}, line.settings->member, true));
    add(edit_fields(BalancerSettings{}, line.settings->balancer));
    text += '\n';
  }
  return text;
}

}  // namespace isb

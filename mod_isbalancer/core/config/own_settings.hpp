// The settings of our own directives, read through the schema.
//
//   <Proxy balancer://wso2.identity.domain>
//       BalancerMember https://node1:9443 route=isNode1
//       ISBalancerSet slowstart=30                       # every member of the balancer
//       ISBalancerMemberSet https://node1:9443 slowstart=60
//   </Proxy>
//
// Outside a <Proxy balancer://...> section each directive names its balancer
// first (ISBalancerSet balancer://wso2.identity.domain slowstart=30). Each takes
// key=value words: the `name` of a schema entry whose owner is this module, with
// a value as the balancer-manager's form takes it. A member setting given to
// ISBalancerSet is the default of every member of the balancer, one given to
// ISBalancerMemberSet that member's own. mod_proxy's settings (loadfactor,
// route, ...) stay on its BalancerMember and ProxySet lines, and a word that
// names one is refused with that advice.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/config/schema.hpp"

namespace isb {

struct OwnSettings {
  MemberSettings member;
  FieldSet member_fields = 0;  // bit i: kMemberFields[i] was given
  BalancerSettings balancer;
  FieldSet balancer_fields = 0;

  // `into` with the member settings given here written over it.
  MemberSettings applied(MemberSettings into) const;
};

enum class SettingScope : std::uint8_t { kBalancer, kMember };

// Reads key=value `words` of one directive line into `out`. On a bad word,
// returns the message httpd prints with the line: it names the directive, the
// word and what is accepted.
std::optional<std::string> parse_own_settings(std::string_view directive, SettingScope scope,
                                              std::span<const std::string_view> words,
                                              OwnSettings& out);

// The names ISBalancerSet (kBalancer) or ISBalancerMemberSet (kMember) takes,
// comma-separated, for messages and documentation.
std::string own_setting_names(SettingScope scope);

}  // namespace isb

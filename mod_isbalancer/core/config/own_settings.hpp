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
#include <vector>

#include "core/config/schema.hpp"
#include "core/shm/shared_state.hpp"

namespace isb {

struct EditRequest;  // core/manager/manager_edit.hpp

struct OwnSettings {
  MemberSettings member;
  FieldSet member_fields = 0;  // bit i: kMemberFields[i] was given
  BalancerSettings balancer;
  FieldSet balancer_fields = 0;

  // `into` with the member (balancer) settings given here written over it.
  MemberSettings applied(MemberSettings into) const;
  BalancerSettings applied(BalancerSettings into) const;
};

// Our member settings (the schema's Owner::kOurs fields) live in the member's
// policy region of the shared segment, where every process reads them: the
// slow-start window and ejection times in µs, the ejection thresholds and
// switch as they are. `m` with ours read from `c`; ours of `m` written to `c`.
MemberSettings with_own_settings(MemberSettings m, const MemberCounters& c);
void write_own_settings(MemberCounters& c, const MemberSettings& m);
// Each configured member's (slots from `first`; nullopt: a growth slot, left as
// it is), as a fresh segment starts from them.
void write_own_settings(const SharedState& state, std::uint32_t first,
                        std::span<const std::optional<MemberSettings>> configured);
// Those of ours that the edit `e` gives, written to `c`; the others stay.
void write_own_settings(MemberCounters& c, const EditRequest& e);
// The same for a balancer's settings of ours (ejection cap, retry budget), in
// its policy region.
BalancerSettings with_own_settings(BalancerSettings b, const BalancerCounters& c);
void write_own_settings(BalancerCounters& c, const BalancerSettings& b);
void write_own_settings(BalancerCounters& c, const EditRequest& e);

enum class SettingScope : std::uint8_t { kBalancer, kMember };

// Reads key=value `words` of one directive line into `out`. On a bad word,
// returns the message httpd prints with the line: it names the directive, the
// word and what is accepted.
std::optional<std::string> parse_own_settings(std::string_view directive, SettingScope scope,
                                              std::span<const std::string_view> words,
                                              OwnSettings& out);

// Whether a directive's `word` names a balancer: "balancer://" in any case, then
// a name.
bool is_balancer_word(std::string_view word);

// The words of one ISBalancerSet or ISBalancerMemberSet line, read.
struct OwnLine {
  std::string_view balancer;  // "balancer://name" as written: the section's path or a word
  std::string_view member;    // the member URL; empty for ISBalancerSet
  OwnSettings settings;
};

// Reads a whole line. `section` is the path of the section the line is written
// in (nullopt at server or virtual-host level): a <Proxy balancer://...> names
// the balancer, any other section is the wrong place. Outside a section the
// first word names the balancer. ISBalancerMemberSet then takes the member's
// URL (a word with "://"), and both take key=value words (parse_own_settings).
// `out` views `section` and `words`. Returns httpd's message for a line in the
// wrong place, without its names, or with a bad word.
std::optional<std::string> parse_own_line(std::string_view directive, SettingScope scope,
                                          std::optional<std::string_view> section,
                                          std::span<const std::string_view> words, OwnLine& out);

// One ISBalancerSet or ISBalancerMemberSet line, as read.
struct OwnSettingsLine {
  std::string_view balancer;  // "balancer://name" as written
  std::string_view member;    // the member URL; empty for ISBalancerSet
  const OwnSettings* settings = nullptr;
  std::string_view where;        // "file:line", for messages
  const void* server = nullptr;  // the server or virtual host it was written in
};

// One balancer as the configuration defines it, for apply_own_lines().
struct ConfiguredBalancer {
  std::string_view name;         // "balancer://name"
  const void* server = nullptr;  // the server or virtual host that defines it
  // Per member slot: its configured settings (nullopt for a growth slot) and
  // the URL of its BalancerMember line.
  std::span<std::optional<MemberSettings>> configured;
  std::span<const std::string> member_urls;
  OwnSettings* defaults = nullptr;  // receives the ISBalancerSet lines' settings
};

// Applies `lines` to `balancers`: a line belongs to the balancer of its name
// (in any case) defined in the server it was written in. A balancer's
// ISBalancerSet lines go first, into every configured member and its defaults;
// then its ISBalancerMemberSet lines, each into the member whose URL means the
// same (member_key()), whatever the order of the lines. Returns the message for
// the first line that names no balancer or no member, with its `where`.
std::optional<std::string> apply_own_lines(std::span<const OwnSettingsLine> lines,
                                           std::span<ConfiguredBalancer> balancers);

// The lines as text, for the configuration fingerprint; empty when there are none.
std::string own_lines_text(std::span<const OwnSettingsLine> lines);

// The names ISBalancerSet (kBalancer) or ISBalancerMemberSet (kMember) takes,
// comma-separated, for messages and documentation.
std::string own_setting_names(SettingScope scope);

}  // namespace isb

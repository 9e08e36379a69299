// What a configuration generation has (core/config/inventory.hpp): each balancer
// and member once, their slots, and the fingerprint a graceful restart compares.
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/config/conflicts.hpp"
#include "core/config/inventory.hpp"

using namespace isb;

namespace {

// Members are named; a balancer's identity is the address of its shared struct
// in the httpd layer, here any distinct address.
using Listed = ListedBalancer<std::string>;

const int kMain = 0;
const int kOther = 0;

std::uint64_t fnv(std::string_view s) {
  ConfigFingerprint f;
  f.add(s.data(), s.size());
  return f.value();
}

// The fingerprint of `inv`, each balancer adding its listing's configured text
// and each member its own.
std::uint64_t print(const Inventory<std::string>& inv,
                    const std::vector<std::string>& balancer_text,
                    const std::map<std::string, std::string>& member_text) {
  return fingerprint(
      inv,
      [&](std::size_t listing, ConfigFingerprint& f) {
        f.add(balancer_text[listing].data(), balancer_text[listing].size());
      },
      [&](const std::string& m, ConfigFingerprint& f) {
        const std::string& t = member_text.at(m);
        f.add(t.data(), t.size());
      });
}

}  // namespace

TEST_CASE("inventory: the fingerprint is FNV-1a, 64 bits", "[config]") {
  CHECK(ConfigFingerprint{}.value() == 0xcbf29ce484222325ULL);
  CHECK(fnv("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv("foobar") == 0x85944171f73967e8ULL);
  // A value adds its bytes, as add() over them does.
  ConfigFingerprint by_value;
  const std::uint32_t v = 0x01020304;
  by_value.add_value(v);
  ConfigFingerprint by_bytes;
  by_bytes.add(&v, sizeof v);
  CHECK(by_value.value() == by_bytes.value());
}

TEST_CASE("inventory: inherited copies are one balancer, in first-seen slots", "[config]") {
  const std::vector<std::string> app = {"http://a", "http://b"};
  const std::vector<std::string> api = {"http://c"};
  // The main server defines app and api; two virtual hosts inherit app's copies,
  // one of them also defines its own api2.
  const std::vector<std::string> api2 = {"http://d", "http://e"};
  const std::vector<Listed> listed = {
      {&kMain, app, 0}, {&kOther, api, 2},  // main server
      {&kMain, app, 0}, {&api2, api2, 1},   // vhost 1: a copy, and its own
      {&kMain, app, 0},                     // vhost 2: a copy
  };
  const auto inv = take_inventory<std::string>(listed);
  REQUIRE(inv.balancers.size() == 3);
  CHECK(inv.balancers[0].listing == 0);
  CHECK(inv.balancers[0].copies == std::vector<std::size_t>{2, 4});
  CHECK(inv.balancers[1].listing == 1);
  CHECK(inv.balancers[1].copies.empty());
  CHECK(inv.balancers[2].listing == 3);
  for (std::uint32_t i = 0; i < 3; ++i) CHECK(inv.balancers[i].slot == i);
  // Member slots: each balancer's members, then its growth.
  CHECK(inv.balancers[0].members == app);
  CHECK(inv.balancers[0].first_member == 0);
  CHECK(inv.balancers[0].member_slots == 2);
  CHECK(inv.balancers[1].first_member == 2);
  CHECK(inv.balancers[1].member_slots == 3);  // one member, growth 2
  CHECK(inv.balancers[2].first_member == 5);
  CHECK(inv.balancers[2].member_slots == 3);  // two members, growth 1
  CHECK(inv.member_count == 5);
  CHECK(inv.member_capacity == 8);
}

TEST_CASE("inventory: a member listed twice takes one slot, a negative growth none", "[config]") {
  const std::vector<std::string> one = {"http://a", "http://b"};
  const std::vector<std::string> two = {"http://b", "http://c"};
  const int x = 0;
  const int y = 0;
  const std::vector<Listed> listed = {{&x, one, -5}, {&y, two, 0}};
  const auto inv = take_inventory<std::string>(listed);
  REQUIRE(inv.balancers.size() == 2);
  CHECK(inv.balancers[0].member_slots == 2);  // growth -5 counts as 0
  CHECK(inv.balancers[1].members == std::vector<std::string>{"http://c"});
  CHECK(inv.balancers[1].first_member == 2);
  CHECK(inv.balancers[1].member_slots == 1);
  CHECK(inv.member_count == 3);
  // The segment still holds a slot per listed member, as it always has.
  CHECK(inv.member_capacity == 4);
}

TEST_CASE("inventory: the fingerprint moves with a configured value, not with copies", "[config]") {
  const std::vector<std::string> app = {"http://a", "http://b"};
  const std::vector<Listed> alone = {{&kMain, app, 0}};
  const std::vector<Listed> inherited = {{&kMain, app, 0}, {&kMain, app, 0}};
  const std::map<std::string, std::string> members = {{"http://a", "lf=1"}, {"http://b", "lf=2"}};
  const auto base = print(take_inventory<std::string>(alone), {"app"}, members);
  // A virtual host that inherits the balancer is the same configuration.
  CHECK(print(take_inventory<std::string>(inherited), {"app", "ignored"}, members) == base);
  // A member's value changed: a changed configuration.
  auto changed = members;
  changed["http://b"] = "lf=3";
  CHECK(print(take_inventory<std::string>(alone), {"app"}, changed) != base);
  // So is the balancer's.
  CHECK(print(take_inventory<std::string>(alone), {"app2"}, members) != base);
  // The order folded in is the balancer, then its members in slot order.
  CHECK(base == fnv("applf=1lf=2"));
  // The same members listed in another order fill other slots: changed too.
  const std::vector<std::string> swapped = {"http://b", "http://a"};
  const std::vector<Listed> reordered = {{&kMain, swapped, 0}};
  CHECK(print(take_inventory<std::string>(reordered), {"app"}, members) != base);
}

TEST_CASE("inventory: maxattempts defaults to the number of other members", "[config]") {
  CHECK(default_max_attempts(false, 3) == 2);
  CHECK(default_max_attempts(false, 2) == 1);
  CHECK_FALSE(default_max_attempts(false, 1));  // no other member to try
  CHECK_FALSE(default_max_attempts(false, 0));
  CHECK_FALSE(default_max_attempts(true, 5));  // the configuration said
}

TEST_CASE("conflicts: the first replaced module that is loaded refuses the start", "[config]") {
  auto loaded_of = [](std::vector<std::string> names) {
    return [names](const char* source) {
      for (const auto& n : names) {
        if (n == source) return true;
      }
      return false;
    };
  };
  CHECK_FALSE(find_conflict(loaded_of({"mod_proxy.c", "mod_proxy_http.c"})));
  auto c = find_conflict(loaded_of({"mod_proxy.c", "mod_proxy_balancer.c"}));
  REQUIRE(c);
  CHECK(std::string(c->name) == "proxy_balancer");
  c = find_conflict(loaded_of({"mod_lbmethod_heartbeat.c", "mod_lbmethod_bybusyness.c"}));
  REQUIRE(c);
  CHECK(std::string(c->source) == "mod_lbmethod_bybusyness.c");  // table order
  CHECK(std::string(c->name) == "lbmethod_bybusyness");
  // Every stock balancer module and lbmethod is in the table.
  CHECK(std::size(kConflicts) == 5);
  CHECK(find_conflict(loaded_of({"mod_lbmethod_byrequests.c"})));
  CHECK(find_conflict(loaded_of({"mod_lbmethod_bytraffic.c"})));
}

// What a configuration generation has: every balancer and member of every
// virtual host, each once, the slots they take in the shared segment, and the
// fingerprint that decides whether a graceful restart may keep that segment.
//
// The httpd layer lists what each virtual host's mod_proxy configuration holds
// (ListedBalancer); the core counts each balancer and member once, in the order
// they are first met. A virtual host that inherits the main server's balancers
// holds struct copies of them that share their shared struct and their members,
// so a balancer is known by an identity the copies share, and a member by its
// handle (the httpd layer's proxy_worker pointer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace isb {

// FNV-1a, 64 bits, over the configured values of every balancer and member. The
// httpd layer hands in plain bytes (its structs less the fields that change at
// run time); any difference in them is a changed configuration.
class ConfigFingerprint {
 public:
  void add(const void* data, std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void add_value(const T& v) noexcept { add(&v, sizeof v); }
  std::uint64_t value() const noexcept { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

// One balancer as one virtual host's configuration lists it.
template <class Member>
struct ListedBalancer {
  const void* identity = nullptr;   // the same for a balancer and its inherited copies
  std::span<const Member> members;  // as configured, in order
  int growth = 0;                   // BalancerGrowth / growth=; a negative one counts as 0
};

template <class Member>
struct Inventory {
  struct Balancer {
    std::size_t listing = 0;          // where it is defined (the first listing of it)
    std::vector<std::size_t> copies;  // the listings of its inherited copies
    std::uint32_t slot = 0;           // its balancer slot
    // The members that take a member slot with it, in order: each member once,
    // with the first balancer that lists it.
    std::vector<Member> members;
    std::uint32_t first_member = 0;  // its first member slot
    std::uint32_t member_slots = 0;  // members.size() plus its growth
  };
  std::vector<Balancer> balancers;  // indexed by balancer slot
  std::size_t member_count = 0;     // distinct members
  // Member slots the segment holds: every listed member of every balancer plus
  // its growth (at least the slots the balancers take).
  std::uint32_t member_capacity = 0;
};

template <class Member>
Inventory<Member> take_inventory(std::span<const ListedBalancer<Member>> listed) {
  Inventory<Member> inv;
  std::unordered_map<const void*, std::size_t> slot_of;
  std::unordered_set<Member> seen;
  std::uint32_t member = 0;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    const ListedBalancer<Member>& l = listed[i];
    if (auto it = slot_of.find(l.identity); it != slot_of.end()) {
      inv.balancers[it->second].copies.push_back(i);
      continue;
    }
    const auto growth = static_cast<std::uint32_t>(l.growth > 0 ? l.growth : 0);
    slot_of.emplace(l.identity, inv.balancers.size());
    auto& b = inv.balancers.emplace_back();
    b.listing = i;
    b.slot = static_cast<std::uint32_t>(inv.balancers.size() - 1);
    b.first_member = member;
    for (const Member& m : l.members) {
      if (seen.insert(m).second) b.members.push_back(m);
    }
    b.member_slots = static_cast<std::uint32_t>(b.members.size()) + growth;
    member += b.member_slots;
    inv.member_count += b.members.size();
    inv.member_capacity += static_cast<std::uint32_t>(l.members.size()) + growth;
  }
  return inv;
}

// The fingerprint of the configuration: each balancer, then each member it
// takes a slot for, in slot order. `add_balancer(listing, f)` and
// `add_member(member, f)` add the configured values of one to `f`; copies add
// nothing (they are the same balancer).
template <class Member, class AddBalancer, class AddMember>
std::uint64_t fingerprint(const Inventory<Member>& inv, AddBalancer&& add_balancer,
                          AddMember&& add_member) {
  ConfigFingerprint f;
  for (const auto& b : inv.balancers) {
    add_balancer(b.listing, f);
    for (const Member& m : b.members) add_member(m, f);
  }
  return f.value();
}

// Stock's default for maxattempts: as many failover attempts as there are other
// members. The value to set, or nothing when the configuration set one or the
// balancer has no other member to try.
std::optional<int> default_max_attempts(bool configured, int members) noexcept;

}  // namespace isb

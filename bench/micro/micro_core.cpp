// Microbenchmarks of the core: what one routing decision costs, without httpd.
//
//   BM_Decide/<method>/<members>   decide() for a new session (no route): the
//                                  eligibility pass plus the selector's pick
//   BM_Pick/<method>/<members>     the selector's pick alone, over ready candidates
//   BM_Sticky/<case>               decide() for a request that carries a route
//   BM_Parse/<case>                find_session_route() alone (cookie and URL scan)
//   BM_RedirectCycle/<index>/<routes>  a route whose members are all down, in a
//                                  cycle of `routes` routes of two members each:
//                                  the worst lookup a client can ask for, with and
//                                  without the per-process route index
//
// Methods come from selector_names(), so a new lbmethod is measured without any
// change here. Members all have weight 100 except every third (weight 300), so the
// round robin does not degenerate into equal weights.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/policy/selector.hpp"
#include "core/routing/decision.hpp"
#include "core/routing/sticky.hpp"
#include "fake_table.hpp"

namespace {

// prefix + number, built by appending: GCC 12 warns (-Wrestrict, a false positive)
// on `"literal" + std::to_string(i)` at -O3.
std::string numbered(std::string_view prefix, std::size_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

std::string named(std::string_view prefix, std::string_view name) {
  std::string s(prefix);
  s += name;
  return s;
}

using isb::test::FakeTable;

FakeTable make_table(std::size_t n) {
  FakeTable t;
  for (std::size_t i = 0; i < n; ++i) {
    auto& m = t.add(numbered("m", i), i % 3 == 2 ? 300 : 100);
    m.route = numbered("n", i + 1);
    m.traffic = 1000 * (i + 1);
  }
  return t;
}

isb::BalancerPolicy sticky_policy(std::string_view method) {
  isb::BalancerPolicy p;
  p.sticky.cookie_name = "JSESSIONID";
  p.sticky.path_name = "jsessionid";
  p.selector = isb::find_selector(method);
  return p;
}

// A new session to a balancer of `members` members: the whole core decision.
void BM_Decide(benchmark::State& state, std::string_view method) {
  const auto n = static_cast<std::size_t>(state.range(0));
  FakeTable t = make_table(n);
  const isb::BalancerPolicy policy = sticky_policy(method);
  std::vector<isb::Candidate> scratch(n);
  const isb::RequestView req{"balancer://c/app/page", {}, "a=1; b=2", 0};
  for (auto _ : state) {
    isb::Decision d = isb::decide(t, policy, req, scratch);
    benchmark::DoNotOptimize(d.member);
    // Every request also ends: keep bybusyness's in-flight counts at zero.
    t.counters(d.member).busy.store(0, std::memory_order_relaxed);
  }
}

// The selector alone over ready candidates.
void BM_Pick(benchmark::State& state, std::string_view method) {
  const auto n = static_cast<std::size_t>(state.range(0));
  FakeTable t = make_table(n);
  std::vector<isb::Candidate> cands(n);
  const std::size_t count = isb::collect_candidates(t, 0, cands);
  const isb::Selector* sel = isb::find_selector(method);
  for (auto _ : state) {
    std::size_t pos =
        sel->pick(std::span<const isb::Candidate>(cands.data(), count), isb::PickContext{});
    benchmark::DoNotOptimize(pos);
  }
}

struct ParseCase {
  const char* name;
  std::string url;
  std::string cookie;
};

std::vector<ParseCase> parse_cases() {
  std::vector<ParseCase> c;
  c.push_back({"no_cookie", "balancer://c/app/page", ""});
  c.push_back({"typical_cookie", "balancer://c/app/page",
               "_ga=GA1.1.1234567890.1700000000; lang=en; "
               "JSESSIONID=8A1F0C3D5E7B9A2C4E6F8B0D1A3C5E7F.n2; theme=dark"});
  c.push_back(
      {"path_param", "balancer://c/app/page;jsessionid=8A1F0C3D5E7B9A2C4E6F8B0D1A3C5E7F.n2", ""});
  // Hostile: 200 near-miss names before the real one (stock's strstr trap).
  std::string near;
  for (std::size_t i = 0; i < 200; ++i) {
    near += numbered("XJSESSIONID", i);
    near += "=AAAAAAAA.n1; ";
  }
  c.push_back({"hostile_near_miss_200", "balancer://c/app/page", near + "JSESSIONID=B.n2"});
  // Hostile: an 8 KiB value (over the 4 KiB limit, ignored).
  std::string big = "JSESSIONID=";
  big.append(8192, 'A');
  big += ".n1";
  c.push_back({"hostile_value_8k", "balancer://c/app/page", big});
  // Hostile: 4000 separators, no names.
  c.push_back({"hostile_separators_4k", "balancer://c/app/page", std::string(4000, ';')});
  // Hostile: a long URL full of ';' and '&' candidates that never match.
  std::string url = "balancer://c/app";
  for (std::size_t i = 0; i < 300; ++i) {
    url += numbered(";jsessionid", i);
    url += "=x";
  }
  url += "?";
  for (std::size_t i = 0; i < 300; ++i) url += numbered("&jsession=", i);
  c.push_back({"hostile_url_600_params", url, ""});
  // Hostile: a route of 100 characters (over the 63 a member can have).
  std::string long_route = "JSESSIONID=ABC.";
  long_route.append(100, 'r');
  c.push_back({"hostile_route_100", "balancer://c/app/page", long_route});
  return c;
}

void BM_Parse(benchmark::State& state, const ParseCase& pc) {
  const isb::BalancerPolicy policy = sticky_policy("byrequests");
  for (auto _ : state) {
    auto r = isb::find_session_route(policy.sticky, pc.url, {}, pc.cookie);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(pc.url.size() + pc.cookie.size()));
}

// A request carrying a member's route, to a 16-member balancer: parse, route
// lookup and the sticky charge to the weights.
void BM_Sticky(benchmark::State& state, const ParseCase& pc) {
  FakeTable t = make_table(16);
  const isb::BalancerPolicy policy = sticky_policy("byrequests");
  std::vector<isb::Candidate> scratch(t.size());
  const isb::RequestView req{pc.url, {}, pc.cookie, 0};
  for (auto _ : state) {
    isb::Decision d = isb::decide(t, policy, req, scratch);
    benchmark::DoNotOptimize(d.member);
  }
}

// Two members per route, all down, each redirecting to the next route, and the
// request carries the first: every route is explored before the answer (none).
void BM_RedirectCycle(benchmark::State& state, bool indexed) {
  const auto routes = static_cast<std::size_t>(state.range(0));
  FakeTable t;
  for (std::size_t r = 0; r < routes; ++r) {
    for (std::size_t k = 0; k < 2; ++k) {
      auto& m = t.add(numbered("m", 2 * r + k));
      m.route = numbered("r", r);
      m.redirect = numbered("r", (r + 1) % routes);
      m.status |= isb::kDisabled;
    }
  }
  const isb::RouteIndex index = isb::RouteIndex::build(t);
  const isb::RouteIndex* used = indexed ? &index : nullptr;
  for (auto _ : state) {
    std::size_t m = isb::find_route_member(t, "r0", 0, used);
    benchmark::DoNotOptimize(m);
  }
  state.counters["members"] = static_cast<double>(t.size());
}

const std::vector<ParseCase>& cases() {
  static const std::vector<ParseCase> c = parse_cases();
  return c;
}

const bool registered = [] {
  for (std::string_view method : isb::selector_names()) {
    benchmark::RegisterBenchmark(named("BM_Decide/", method).c_str(), BM_Decide, method)
        ->Arg(2)
        ->Arg(16)
        ->Arg(256);
    benchmark::RegisterBenchmark(named("BM_Pick/", method).c_str(), BM_Pick, method)
        ->Arg(2)
        ->Arg(16)
        ->Arg(256);
  }
  for (const ParseCase& pc : cases()) {
    benchmark::RegisterBenchmark(named("BM_Parse/", pc.name).c_str(), BM_Parse, pc);
  }
  for (const ParseCase& pc : cases()) {
    if (pc.cookie.find("JSESSIONID=8A1F") == std::string::npos &&
        pc.url.find(";jsessionid=8A1F") == std::string::npos) {
      continue;
    }
    benchmark::RegisterBenchmark(named("BM_Sticky/", pc.name).c_str(), BM_Sticky, pc);
  }
  for (bool indexed : {true, false}) {
    benchmark::RegisterBenchmark(indexed ? "BM_RedirectCycle/index" : "BM_RedirectCycle/scan",
                                 BM_RedirectCycle, indexed)
        ->Arg(10)
        ->Arg(50)
        ->Arg(200);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();

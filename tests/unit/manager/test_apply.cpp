// The rules of applying an edit (core/manager/apply.hpp): refusals before any
// write, audit lines, and stock's credit reset.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/manager/apply.hpp"
#include "core/member/status.hpp"

using namespace isb;

TEST_CASE("apply: refusals come before any write, in a fixed order", "[manager][apply]") {
  EditRequest e;
  e.balancer = "c";
  e.member = "http://a:8080";
  e.set(&MemberSettings::lbfactor, 200);
  EditFacts facts;
  auto no = refuse_edit(e, facts);
  REQUIRE(no);
  CHECK((no->status == 400 && no->field == "w"));
  CHECK(no->message == "the balancer has no member http://a:8080");
  facts.member_found = true;
  CHECK(!refuse_edit(e, facts));

  e.set(&MemberSettings::hc_method, "NOPE");
  no = refuse_edit(e, facts);
  REQUIRE(no);
  CHECK((no->status == 400 && no->field == "w_hm"));
  facts.hc_method_known = true;
  CHECK(!refuse_edit(e, facts));

  EditRequest add;
  add.balancer = "c";
  add.add_member = "http://b:8080";
  facts = {};
  CHECK(!refuse_edit(add, facts));
  facts.added_exists = true;
  no = refuse_edit(add, facts);
  REQUIRE(no);
  CHECK((no->status == 409 && no->field == "b_nwrkr"));
}

TEST_CASE("apply: an add that edits the member it adds needs no existing member",
          "[manager][apply]") {
  EditRequest e;
  e.balancer = "c";
  e.add_member = "HTTP://B:8080/";
  e.member = "http://b:8080";  // the same member, spelled otherwise
  e.set(&MemberSettings::lbfactor, 300);
  CHECK(edits_added_member(e));
  CHECK(!refuse_edit(e, EditFacts{}));
  e.member = "http://c:8080";
  CHECK(!edits_added_member(e));
  CHECK(refuse_edit(e, EditFacts{})->field == "w");
}

TEST_CASE("apply: audit lines and the credit reset", "[manager][apply]") {
  CHECK(member_change_line("http://a", {"loadfactor", "1", "3.5"}) ==
        "member http://a: loadfactor 1 -> 3.5");
  CHECK(member_change_line("http://a", {"route", "", "n1"}) == "member http://a: route \"\" -> n1");
  CHECK(member_change_line("http://a", {"status", "D", ""}) == "member http://a: status D -> \"\"");

  CHECK(!CreditReset{}.needed());
  CHECK(CreditReset{true, false, true, true}.needed());     // lbmethod changed
  CHECK(CreditReset{false, true, true, true}.needed());     // a member removed
  CHECK(CreditReset{false, false, false, true}.needed());   // a member came back
  CHECK(!CreditReset{false, false, true, false}.needed());  // one went out of service
  CHECK(!CreditReset{false, false, false, false}.needed());
}

TEST_CASE("apply: which changes make every process rebuild its member indexes",
          "[manager][apply]") {
  CHECK(rebuilds_member_indexes({"route", "n1", "n2"}));
  CHECK(rebuilds_member_indexes({"redirect", "", "n2"}));
  CHECK(rebuilds_member_indexes({"loadfactor", "1", "2"}));
  CHECK(!rebuilds_member_indexes({"status", "", "D"}));  // read live, every request
  CHECK(!rebuilds_member_indexes({"lbset", "0", "1"}));
  CHECK(!rebuilds_member_indexes({"hc_uri", "", "/up"}));
}

TEST_CASE("apply: the audit lines of an edit, and what they ask for", "[manager][apply]") {
  BalancerSettings before;
  before.lbmethod = "byrequests";
  before.timeout_s = 0;
  BalancerSettings after = before;
  std::vector<std::string> lines{"member http://b:8080 added (disabled)"};
  CreditReset reset;
  note_balancer_changes(before, after, lines, reset);
  CHECK(lines.size() == 1);  // nothing changed, nothing said
  CHECK(!reset.needed());
  after.timeout_s = 5;
  note_balancer_changes(before, after, lines, reset);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].find(" -> ") != std::string::npos);
  CHECK(!reset.method_changed);
  after.lbmethod = "bylatency";
  lines.clear();
  note_balancer_changes(before, after, lines, reset);
  CHECK(std::find(lines.begin(), lines.end(), "lbmethod byrequests -> bylatency") != lines.end());
  CHECK(reset.method_changed);

  MemberSettings m;
  m.route = "n1";
  MemberSettings routed = m;
  routed.route = "";
  lines.clear();
  CHECK(note_member_changes("http://a", m, routed, false, lines));  // routes are indexed
  CHECK(lines == std::vector<std::string>{"member http://a: route n1 -> \"\""});
  MemberSettings disabled = m;
  disabled.status = kDisabled;
  lines.clear();
  CHECK(!note_member_changes("http://a", m, disabled, false, lines));  // status is read live
  CHECK(lines.size() == 1);
  lines.clear();
  CHECK(!note_member_changes("http://a", m, m, false, lines));
  CHECK(lines.empty());
}

TEST_CASE("apply: an operator's edit that ends an ejection", "[manager][apply][ejection]") {
  MemberSettings before;
  before.eject_5xx = 5;
  MemberSettings after = before;
  CHECK_FALSE(ends_ejection(before, after));
  after.lbfactor = 200;  // any other change leaves it ejected
  CHECK_FALSE(ends_ejection(before, after));
  after.eject_5xx = 0;  // ejection turned off for the member
  CHECK(ends_ejection(before, after));
  after.eject_gateway = 3;  // one threshold left: still on
  CHECK_FALSE(ends_ejection(before, after));
  after.eject_gateway = 0;
  after.eject_fail_percent = 50;  // the failure-rate rule left: still on
  CHECK_FALSE(ends_ejection(before, after));
  // Disabled (or stopped, or draining) and put back: back into service.
  MemberSettings off = before;
  off.status = kDisabled;
  CHECK(ends_ejection(off, before));
  CHECK_FALSE(ends_ejection(before, off));
  off.status = kDisabled | kStopped;
  MemberSettings still = before;
  still.status = kStopped;
  CHECK_FALSE(ends_ejection(off, still));  // stopped still keeps it out
  BalancerSettings b;
  BalancerSettings none = b;
  none.eject_percent = 0;
  CHECK(ends_ejections(b, none));
  CHECK_FALSE(ends_ejections(none, none));
  CHECK_FALSE(ends_ejections(none, b));
}

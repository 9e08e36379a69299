#include <catch2/catch.hpp>
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "core/persist/state_file.hpp"

using namespace isb;

namespace {

std::vector<SavedEdit> sample() {
  return {
      {"front:0", {{"b", "c"}, {"w", "http://127.0.0.1:8080"}, {"w_lf", "7"}, {"w_wr", "x2"}}},
      {"same.example:0 *:18030,[::1]:80", {{"b", "app"}, {"b_lbm", "bytraffic"}}},
      {"odd name@host:0 *:1,*:2", {{"b", "c"}, {"w", "http://b"}, {"w_status_D", "1"}}},
      {"", {{"b", "c"}, {"w", "http://b"}, {"w_rr", ""}}},
  };
}

}  // namespace

TEST_CASE("a rendered state file parses back to the same edits", "[state_file]") {
  const auto edits = sample();
  const std::string text = render_state_file(edits);
  CHECK(text.find("isbalancer-state 2\n") != std::string::npos);
  CHECK(text.substr(text.size() - 23, 6) == "end 4 ");
  std::string why;
  auto back = parse_state_file(text, why);
  REQUIRE(back);
  CHECK(back->version == 2);
  CHECK(back->edits == edits);
  CHECK(back->skipped.empty());
  CHECK(render_state_file(back->edits) == text);
}

TEST_CASE("an empty state file still has its header and end line", "[state_file]") {
  const std::string text = render_state_file({});
  std::string why;
  auto back = parse_state_file(text, why);
  REQUIRE(back);
  CHECK(back->edits.empty());
  CHECK(text.find("\nend 0 ") == text.size() - 24);
}

TEST_CASE("a state file cut short at any byte is refused as a whole", "[state_file]") {
  const std::string text = render_state_file(sample());
  for (std::size_t n = 0; n < text.size(); ++n) {
    std::string why;
    INFO("cut at " << n << " of " << text.size());
    CHECK_FALSE(parse_state_file(std::string_view(text).substr(0, n), why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("a state file with bytes after its end line is refused", "[state_file]") {
  const std::string text = render_state_file(sample());
  std::string why;
  CHECK_FALSE(parse_state_file(text + "front:0\tb=c&w_lf=3\n", why));
  CHECK_FALSE(parse_state_file(text + "\n", why));
}

TEST_CASE("a damaged state file is refused by its checksum", "[state_file]") {
  const std::string text = render_state_file(sample());
  std::string why;
  std::string changed = text;
  changed[changed.find("w_lf=7") + 5] = '8';
  CHECK_FALSE(parse_state_file(changed, why));
  CHECK(why.find("checksum") != std::string::npos);
  // A line dropped together with a recomputed checksum: the count catches it.
  std::string dropped = text;
  const auto first = dropped.find("front:0\t");
  dropped.erase(first, dropped.find('\n', first) + 1 - first);
  const auto end = dropped.rfind("end 4 ");
  dropped = dropped.substr(0, end);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(dropped)));
  CHECK(parse_state_file(dropped + "end 3 " + hex + "\n", why));
  CHECK_FALSE(parse_state_file(dropped + "end 4 " + hex + "\n", why));
  CHECK(why.find("end line says 4") != std::string::npos);
  CHECK_FALSE(parse_state_file(dropped + "end 03 " + hex + "\n", why));
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != hex) CHECK_FALSE(parse_state_file(dropped + "end 3 " + upper + "\n", why));
}

TEST_CASE("a state file over the size cap is refused as a whole", "[state_file]") {
  std::vector<SavedEdit> many;
  const std::string url = "http://" + std::string(200, 'h');
  while (many.size() * 200 < kMaxStateFileBytes + 4096) {
    many.push_back({"front:0", {{"b", "c"}, {"w", url}, {"w_lf", "2"}}});
  }
  const std::string text = render_state_file(many);
  REQUIRE(text.size() > kMaxStateFileBytes);
  std::string why;
  CHECK_FALSE(parse_state_file(text, why));
  CHECK(why.find("larger than") != std::string::npos);
}

TEST_CASE("version 1 files of older builds are read only when complete", "[state_file]") {
  const std::string v1 =
      "# comment\nisbalancer-state 1\nfront:0\tb=c&w=http%3A%2F%2Fb&w_lf=7&w_wr=x2\n"
      "same.example:0\tb=app&b_lbm=bytraffic\n";
  std::string why;
  auto back = parse_state_file(v1, why);
  REQUIRE(back);
  CHECK(back->version == 1);
  REQUIRE(back->edits.size() == 2);
  CHECK(back->edits[0].fields.back() == FormField{"w_wr", "x2"});
  // The defect this guards against: "…&w_wr=" cut short cleared the route.
  const auto cut = v1.find("x2\n");
  CHECK_FALSE(parse_state_file(std::string_view(v1).substr(0, cut), why));
  CHECK_FALSE(parse_state_file(std::string_view(v1).substr(0, v1.size() - 1), why));
  CHECK(parse_state_file("isbalancer-state 1\n", why));
}

TEST_CASE("what is not a state file of a known version is refused", "[state_file]") {
  std::string why;
  CHECK_FALSE(parse_state_file("", why));
  CHECK_FALSE(parse_state_file("# only a comment\n", why));
  CHECK_FALSE(parse_state_file("hello\n", why));
  CHECK(why.find("not a mod_isbalancer state file") != std::string::npos);
  CHECK_FALSE(parse_state_file("isbalancer-state 3\nend 0 0000000000000000\n", why));
  CHECK(why.find("unknown version") != std::string::npos);
  CHECK_FALSE(parse_state_file("isbalancer-state 2\n", why));
}

TEST_CASE("a line of an intact file that no longer parses is skipped, not fatal", "[state_file]") {
  std::string body = "isbalancer-state 2\nfront:0\tb=c&w_lf=%zz\nno tab here\nfront:0\tb=c\n";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(body)));
  std::string why;
  auto back = parse_state_file(body + "end 3 " + hex + "\n", why);
  REQUIRE(back);
  CHECK(back->edits.size() == 1);
  REQUIRE(back->skipped.size() == 2);
  CHECK(back->skipped[0].starts_with("line 2: "));
  CHECK(back->skipped[1] == "line 3: no tab");
}

TEST_CASE("a scope keeps odd characters, and never splits a line", "[state_file]") {
  std::vector<SavedEdit> edits = {
      {"we ird:0 *:80,[::1]:8080 @*,x", {{"b", "c"}}},
      {"tab\there\nnewline", {{"b", "c"}}},
  };
  std::string why;
  auto back = parse_state_file(render_state_file(edits), why);
  REQUIRE(back);
  REQUIRE(back->edits.size() == 2);
  CHECK(back->edits[0].scope == "we ird:0 *:80,[::1]:8080 @*,x");
  CHECK(back->edits[1].scope == "tab_here_newline");
}

TEST_CASE("FNV-1a 64 matches its reference values", "[state_file]") {
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("state file: one the next start would refuse is not written", "[persist]") {
  CHECK(!state_file_too_large(0));
  CHECK(!state_file_too_large(kMaxStateFileBytes));
  CHECK(state_file_too_large(kMaxStateFileBytes + 1) ==
        "the edits would take 4194305 bytes, over the 4194304-byte limit");
}

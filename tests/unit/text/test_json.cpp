#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/text/json.hpp"

using namespace isb;

namespace {

// Writes every event as one short line, and stops at a key named "stop".
class Recorder final : public JsonVisitor {
 public:
  std::vector<std::string> events;

  bool object_begin() override {
    events.push_back("{");
    return true;
  }
  bool object_end() override {
    events.push_back("}");
    return true;
  }
  bool key(std::string&& name) override {
    events.push_back("key " + name);
    return name != "stop";
  }
  bool value(JsonKind kind, std::string&& text) override {
    static constexpr const char* kNames[] = {"string", "number", "boolean", "null", "array"};
    events.push_back(std::string(kNames[static_cast<int>(kind)]) + " " + text);
    return true;
  }
};

}  // namespace

TEST_CASE("read_json hands over numbers as written", "[text][json]") {
  Recorder r;
  CHECK_FALSE(read_json(R"({"a":2.50,"b":-7,"c":18446744073709551616,"d":1E3,"e":true,)"
                        R"("f":null,"g":{"h":"\u00e9\n"}})",
                        r));
  CHECK(r.events == std::vector<std::string>{"{", "key a", "number 2.50", "key b", "number -7",
                                             "key c", "number 18446744073709551616", "key d",
                                             "number 1E3", "key e", "boolean true", "key f",
                                             "null null", "key g", "{", "key h",
                                             "string \xc3\xa9\n", "}", "}"});
}

TEST_CASE("read_json stops where the visitor or the text says", "[text][json]") {
  Recorder r;
  CHECK_FALSE(read_json(R"({"stop":1,)", r));  // the visitor stopped before the error
  CHECK(r.events.back() == "key stop");
  r.events.clear();
  CHECK_FALSE(read_json(R"({"a":[1]})", r));  // an array ends the reading
  CHECK(r.events.back() == "array ");
  CHECK(read_json(R"({"a":1} x)", r) == "text after the JSON document at byte 9");
  // Positions count the bytes read, the one that failed too: past the end of
  // input is one more than the body holds; a bad byte is read with the next one.
  CHECK(read_json(R"({"a":1)", r) ==
        "malformed JSON at byte 7: syntax error while parsing object - unexpected end of "
        "input; expected '}'");
  // The text nlohmann last read (here the whole string) is left out.
  CHECK(read_json("{\"a\":\"caf\xe9\"}", r) ==
        "malformed JSON at byte 11: syntax error while parsing value - invalid string: "
        "ill-formed UTF-8 byte");
  CHECK(read_json(R"({"a":"\ud800"})", r).value().find("surrogate") != std::string::npos);
}

TEST_CASE("json strings are ASCII and safe in a page", "[text][json]") {
  // nlohmann's short escapes for U+0008 and U+000C are written as \u00XX, like
  // every other control character; DEL too.
  CHECK(json_quote("\b\f\x7f\t/") == "\"\\u0008\\u000c\\u007f\\t/\"");
  CHECK(json_quote("<\\b>&") == "\"\\u003c\\\\b\\u003e\\u0026\"");
  CHECK(json_quote("") == "\"\"");
}

TEST_CASE("JsonObject places commas and keys", "[text][json]") {
  std::string out;
  JsonObject o(out);
  o.str("s", "x").num("n", -3).unum("u", 18446744073709551615u).boolean("b", false);
  append_array(o.name("a"), std::vector<std::string>{"p", "q"}, append_json_string);
  o.name("e");
  JsonObject inner(out);
  inner.close();
  o.close();
  CHECK(out == R"({"s":"x","n":-3,"u":18446744073709551615,"b":false,"a":["p","q"],"e":{}})");
}

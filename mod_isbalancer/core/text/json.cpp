#include "core/text/json.hpp"

#include <nlohmann/json.hpp>

namespace isb {
namespace {

using Json = nlohmann::json;

// nlohmann's SAX events, handed on to a JsonVisitor. The parser keeps its own
// stack of open objects and arrays (it does not recurse), so a deeply nested
// body costs no C++ stack; the visitor stops at the first value it does not want.
class SaxAdapter final : public nlohmann::json_sax<Json> {
 public:
  explicit SaxAdapter(JsonVisitor& visitor) : visitor_(visitor) {}

  bool null() override { return scalar(JsonKind::null, "null"); }
  bool boolean(bool v) override { return scalar(JsonKind::boolean, v ? "true" : "false"); }
  // Integers that fit 64 bits come parsed, without their text; their decimal text
  // is what the document wrote (see JsonVisitor::value).
  bool number_integer(number_integer_t v) override {
    return scalar(JsonKind::number, std::to_string(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    return scalar(JsonKind::number, std::to_string(v));
  }
  bool number_float(number_float_t /*parsed*/, const string_t& text) override {
    return scalar(JsonKind::number, std::string(text));
  }
  bool string(string_t& v) override { return scalar(JsonKind::string, std::move(v)); }
  bool binary(binary_t& /*v*/) override { return false; }  // only in binary formats
  bool start_object(std::size_t /*elements*/) override {
    ++depth_;
    return visitor_.object_begin();
  }
  bool key(string_t& v) override { return visitor_.key(std::move(v)); }
  bool end_object() override {
    ended_ = --depth_ == 0;
    return visitor_.object_end();
  }
  bool start_array(std::size_t /*elements*/) override {
    visitor_.value(JsonKind::array, {});
    return false;
  }
  bool end_array() override { return false; }  // never reached: arrays end the reading
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) override {
    error_ = describe(position, e.what());
    return false;
  }

  std::optional<std::string> error() const { return error_; }

 private:
  bool scalar(JsonKind kind, std::string&& text) {
    ended_ = depth_ == 0;
    return visitor_.value(kind, std::move(text));
  }

  // nlohmann's message without its prefix ("[json.exception.parse_error.101]
  // parse error at line 1, column 9: ") and without the text it last read, which
  // may be most of the body. `position` counts the bytes read, the bad one too
  // (the end of the input counts as one).
  std::string describe(std::size_t position, std::string_view what) const {
    std::string at = std::to_string(position);
    if (ended_) return "text after the JSON document at byte " + at;
    const std::size_t column = what.find("column ");
    const std::size_t colon = what.find(": ", column == std::string_view::npos ? 0 : column);
    if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
    std::string out = "malformed JSON at byte " + at + ": ";
    const std::size_t read = what.find("; last read: '");
    if (read == std::string_view::npos) return out.append(what);
    out.append(what.substr(0, read));
    const std::size_t expected = what.rfind("'; expected ");
    if (expected != std::string_view::npos && expected > read)
      out.append(what.substr(expected + 1));
    return out;
  }

  JsonVisitor& visitor_;
  int depth_ = 0;
  bool ended_ = false;  // the document's one value is complete
  std::optional<std::string> error_;
};

}  // namespace

std::optional<std::string> read_json(std::string_view text, JsonVisitor& visitor) {
  SaxAdapter sax(visitor);
  Json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json,
                  /*strict=*/true, /*ignore_comments=*/false);
  return sax.error();
}

}  // namespace isb

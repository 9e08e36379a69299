#include "core/text/json.hpp"

#include <charconv>
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

// nlohmann writes with ensure_ascii every control and non-ASCII character as
// \uXXXX (surrogate pairs above U+FFFF, lower-case hex), and with
// error_handler_t::replace it decodes invalid UTF-8 exactly as the WHATWG decoder
// does (each maximal invalid subpart is one U+FFFD; checked against our former
// decoder on every string of up to 4 bytes over the bytes where UTF-8's ranges
// change, and on 3 million random ones). Two differences remain, undone here:
// it writes U+0008 and U+000C as \b and \f, and it leaves <, > and & as they are.
// Its output is ASCII, so a byte-wise pass over the escapes is enough.
void append_json_string(std::string& out, std::string_view text) {
  const std::string dumped =
      Json(std::string(text)).dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
  out.reserve(out.size() + dumped.size());
  for (std::size_t i = 0; i < dumped.size(); ++i) {
    const char c = dumped[i];
    if (c == '\\' && i + 1 < dumped.size()) {
      const char e = dumped[++i];
      if (e == 'b') {
        out += "\\u0008";
      } else if (e == 'f') {
        out += "\\u000c";
      } else {
        out += c;
        out += e;
      }
    } else if (c == '<') {
      out += "\\u003c";  // markup too, so the JSON is safe to embed in a page
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
}

std::string json_quote(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

JsonObject& JsonObject::str(std::string_view key, std::string_view v) {
  append_json_string(name(key), v);
  return *this;
}

JsonObject& JsonObject::num(std::string_view key, std::int64_t v) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  name(key).append(buf, end);
  return *this;
}

JsonObject& JsonObject::unum(std::string_view key, std::uint64_t v) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  name(key).append(buf, end);
  return *this;
}

JsonObject& JsonObject::boolean(std::string_view key, bool v) {
  name(key) += v ? "true" : "false";
  return *this;
}

std::string& JsonObject::name(std::string_view key) {
  if (!first_) out_ += ',';
  first_ = false;
  out_ += '"';
  out_ += key;
  out_ += "\":";
  return out_;
}

}  // namespace isb

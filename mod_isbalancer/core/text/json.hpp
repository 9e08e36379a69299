// JSON for the balancer-manager, read and written through one library,
// nlohmann/json (Debian's nlohmann-json3-dev). This header keeps it out of the
// files that use it: only json.cpp includes nlohmann's 25,000 lines.
//
// Reading: read_json() walks a document with nlohmann's SAX parser and hands a
// JsonVisitor each object, key and value, numbers as written, so that the edit
// API can give a number to the same validators as a form field's text.
//
// Writing: strings go through nlohmann's serializer and then escape markup too
// (append_json_string). Documents are written by JsonObject and append_array,
// which only place the braces, commas and keys; see docs/architecture.md "JSON"
// for why nlohmann's own document type does not write them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace isb {

// --- reading ------------------------------------------------------------------

// What a JSON value is. Objects are not values here: they open and close.
enum class JsonKind { string, number, boolean, null, array };

// The events of one document, in document order. Each returns false to stop the
// reading (having noted why); read_json() then returns at once.
class JsonVisitor {
 public:
  virtual ~JsonVisitor() = default;
  virtual bool object_begin() = 0;
  virtual bool object_end() = 0;
  virtual bool key(std::string&& key) = 0;
  // A value that is not an object. `text` is a string's decoded text (valid
  // UTF-8), a number as written, "true", "false" or "null"; an array is reported
  // with empty text and ends the reading, as no document we read holds one.
  //
  // A number is as written, with one exception: an integer that fits 64 bits
  // comes as its decimal text, which is what JSON's grammar lets one write for it
  // (no '+', no leading zeros) except "-0", which comes as "0".
  virtual bool value(JsonKind kind, std::string&& text) = 0;
};

// Reads `text` as one JSON document (RFC 8259: strings are UTF-8, nothing but
// white space after the document) into `visitor`. Returns nullopt when the
// document was read to its end or the visitor stopped the reading, and otherwise
// why it is not JSON: "malformed JSON at byte N: ..." with nlohmann's account of
// the error, without the text it read (which may be long or binary), or "text
// after the JSON document at byte N". N counts from 1 the bytes read, the one
// that failed too (past the end of the input: one more than the text holds).
std::optional<std::string> read_json(std::string_view text, JsonVisitor& visitor);

// --- writing ------------------------------------------------------------------

// Appends `text` as a JSON string, quotes included. The output is ASCII and safe
// inside an HTML page: every control and non-ASCII character is \uXXXX (a
// surrogate pair above U+FFFF), and so are <, > and &. Bytes are decoded as UTF-8
// the way a browser decodes the page (the WHATWG decoder: each maximal invalid
// subpart becomes one U+FFFD), so that a name the page shows and the same name in
// the JSON are the same string to the page's script, whether the configuration
// wrote UTF-8 or Latin-1.
void append_json_string(std::string& out, std::string_view text);

// `text` as a JSON string, as append_json_string writes it.
std::string json_quote(std::string_view text);

// Writes one JSON object's members into `out`, with the commas between them.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
  void close() { out_ += '}'; }

  JsonObject& str(std::string_view key, std::string_view v);
  JsonObject& num(std::string_view key, std::int64_t v);
  JsonObject& unum(std::string_view key, std::uint64_t v);
  JsonObject& boolean(std::string_view key, bool v);
  // Writes the key of a member whose value the caller writes next: an object,
  // an array, or a number already formatted (a loadfactor "1.5", "12.300").
  // Keys are ours, plain ASCII, and are written as they are.
  std::string& name(std::string_view key);

 private:
  std::string& out_;
  bool first_ = true;
};

// "[item,item,...]", each item of the range `items` written by `write(out, item)`.
template <class Items, class Write>
void append_array(std::string& out, const Items& items, Write write) {
  out += '[';
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    write(out, item);
  }
  out += ']';
}

}  // namespace isb

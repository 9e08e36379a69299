// JSON for the balancer-manager through one library, nlohmann/json (Debian's
// nlohmann-json3-dev). This header keeps it out of the files that use it: only
// json.cpp includes nlohmann's 25,000 lines.
//
// Reading: read_json() walks a document with nlohmann's SAX parser and hands a
// JsonVisitor each object, key and value, numbers as written, so that the edit
// API can give a number to the same validators as a form field's text.
#pragma once

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

}  // namespace isb

// libFuzzer target: the BalancerPersist state file parser (core/state_file).
//
// The input is a whole file. Contracts checked: the parser never crashes; an
// accepted file re-renders to a file that parses back to the same edits (where
// every form re-encodes within the edit size limit, as fuzz_manager_edit does);
// an accepted version-2 file cut short by a byte (or to any of a few shorter
// lengths) is refused as a whole; a version-1 file (no end line) only where the
// cut falls inside a line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/persist/state_file.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto parsed = isb::parse_state_file(text, why);
  if (!parsed) {
    require(!why.empty());
    return 0;
  }
  require(parsed->version == 1 || parsed->version == 2);
  // One byte short. Version 2: the end line loses its newline. Version 1 has
  // no end line, so only a cut inside a line can be seen.
  if (parsed->version == 2 || (size >= 2 && text[size - 2] != '\n')) {
    require(!isb::parse_state_file(text.substr(0, size - 1), why));
  }
  if (parsed->version == 2) {
    // Any shorter prefix of a version-2 file lacks its end line.
    for (std::size_t n : {std::size_t{0}, size / 2, size > 2 ? size - 2 : 0}) {
      require(!isb::parse_state_file(text.substr(0, n), why));
    }
  }
  bool fits = true;
  for (const auto& e : parsed->edits) {
    require(e.scope.find('\t') == std::string::npos && e.scope.find('\n') == std::string::npos);
    fits = fits && isb::encode_form(e.fields).size() <= isb::kMaxEditBytes;
  }
  const std::string again = isb::render_state_file(parsed->edits);
  if (fits && again.size() <= isb::kMaxStateFileBytes) {
    auto back = isb::parse_state_file(again, why);
    require(back && back->version == isb::kStateFileVersion && back->edits == parsed->edits &&
            back->skipped.empty());
    require(isb::render_state_file(back->edits) == again);
  }
  return 0;
}

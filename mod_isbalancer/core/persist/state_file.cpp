#include "core/persist/state_file.hpp"

#include <charconv>

namespace isb {
namespace {

constexpr std::string_view kHeaderPrefix = "isbalancer-state ";
constexpr std::string_view kEndPrefix = "end ";

std::string hex16(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[v & 0xF];
    v >>= 4;
  }
  return out;
}

bool is_comment(std::string_view line) {
  return line.empty() || line.front() == '#';
}

// "end <lines> <16 hex digits>", exactly: no sign, no leading zeros, lower case.
bool parse_end(std::string_view line, std::uint64_t& lines, std::uint64_t& sum) {
  if (!line.starts_with(kEndPrefix)) return false;
  line.remove_prefix(kEndPrefix.size());
  const std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp > 9) return false;
  const std::string_view count = line.substr(0, sp);
  const std::string_view hex = line.substr(sp + 1);
  if (count.size() > 1 && count.front() == '0') return false;
  for (char c : count) {
    if (c < '0' || c > '9') return false;
  }
  if (hex.size() != 16) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  std::from_chars(count.data(), count.data() + count.size(), lines);
  std::from_chars(hex.data(), hex.data() + hex.size(), sum, 16);
  return true;
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::optional<std::string> state_file_too_large(std::size_t bytes) {
  if (bytes <= kMaxStateFileBytes) return std::nullopt;
  std::string why = "the edits would take ";
  why += std::to_string(bytes);
  why += " bytes, over the ";
  why += std::to_string(kMaxStateFileBytes);
  why += "-byte limit";
  return why;
}

std::string render_state_file(std::span<const SavedEdit> edits) {
  std::string out;
  out += "# mod_isbalancer: balancer-manager edits, replayed at start-up for virtual\n";
  out += "# hosts with BalancerPersist On. One edit per line: scope, a tab, the form;\n";
  out += "# then \"end\", the number of edit lines and a checksum of all that comes before.\n";
  out += kHeaderPrefix;
  out += std::to_string(kStateFileVersion);
  out += '\n';
  for (const auto& e : edits) {
    for (char c : e.scope) out += (c == '\t' || c == '\n') ? '_' : c;
    out += '\t';
    out += encode_form(e.fields);
    out += '\n';
  }
  const std::uint64_t sum = fnv1a64(out);
  out += kEndPrefix;
  out += std::to_string(edits.size());
  out += ' ';
  out += hex16(sum);
  out += '\n';
  return out;
}

std::optional<StateFile> parse_state_file(std::string_view text, std::string& why) {
  if (text.size() > kMaxStateFileBytes) {
    why = "is larger than " + std::to_string(kMaxStateFileBytes) + " bytes";
    return std::nullopt;
  }
  if (text.empty() || text.back() != '\n') {
    why = "does not end with a newline: it was cut short";
    return std::nullopt;
  }
  // Every line ends with '\n' from here on.
  StateFile out;
  std::string_view rest = text;
  std::size_t line_no = 0;
  auto next_line = [&](std::string_view& line) {
    const std::size_t nl = rest.find('\n');
    line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    ++line_no;
  };
  std::string_view line;
  while (!rest.empty()) {
    next_line(line);
    if (is_comment(line)) continue;
    if (!line.starts_with(kHeaderPrefix)) {
      why = "is not a mod_isbalancer state file (line " + std::to_string(line_no) +
            " is not its header)";
      return std::nullopt;
    }
    const std::string_view v = line.substr(kHeaderPrefix.size());
    if (v == "1") {
      out.version = 1;
    } else if (v == "2") {
      out.version = 2;
    } else {
      why = "has an unknown version (this build reads 1 and 2)";
      return std::nullopt;
    }
    break;
  }
  if (out.version == 0) {
    why = "has no header: it is empty or cut short";
    return std::nullopt;
  }
  std::string_view body = rest;
  if (out.version == 2) {
    // The end line is the last line; `rest` is empty or ends with '\n'.
    std::uint64_t lines = 0;
    std::uint64_t sum = 0;
    const std::string_view all = rest.empty() ? rest : rest.substr(0, rest.size() - 1);
    const std::size_t nl = all.rfind('\n');
    const std::size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    if (rest.empty() || !parse_end(all.substr(start), lines, sum)) {
      why = "has no end line: it was cut short";
      return std::nullopt;
    }
    body = rest.substr(0, start);
    const std::size_t end_offset = text.size() - (rest.size() - start);
    if (fnv1a64(text.substr(0, end_offset)) != sum) {
      why = "does not match the checksum of its end line: it was damaged";
      return std::nullopt;
    }
    std::uint64_t counted = 0;
    for (std::string_view b = body; !b.empty();) {
      const std::size_t eol = b.find('\n');
      if (!is_comment(b.substr(0, eol))) ++counted;
      b.remove_prefix(eol + 1);
    }
    if (counted != lines) {
      why = "has " + std::to_string(counted) + " edit lines where its end line says " +
            std::to_string(lines);
      return std::nullopt;
    }
  }
  rest = body;
  while (!rest.empty()) {
    next_line(line);
    if (is_comment(line)) continue;
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      out.skipped.push_back("line " + std::to_string(line_no) + ": no tab");
      continue;
    }
    EditError err;
    auto fields = parse_form(line.substr(tab + 1), err);
    if (!fields) {
      out.skipped.push_back("line " + std::to_string(line_no) + ": " + err.message);
      continue;
    }
    out.edits.push_back({std::string(line.substr(0, tab)), std::move(*fields)});
  }
  return out;
}

}  // namespace isb

// The BalancerPersist state file: its text, as pure functions (no file system).
//
// Version 2, as written by this build:
//
//   # mod_isbalancer: balancer-manager edits, ...      comment lines ('#'), skipped
//   isbalancer-state 2                                  the header
//   front:0 *:8080<TAB>b=c&w=http%3A%2F%2Fa&w_lf=2      one edit per line: scope, a tab, the form
//   end 1 5f0c2b4a1d3e6f70                              edit lines, FNV-1a 64 of all bytes before
//   "end"
//
// The end line is the last line and ends with a newline, so a file cut short at
// any byte, or with anything after it, is refused as a whole, as is a file larger
// than kMaxStateFileBytes. Version 1 (older builds) has no end line: it is read
// only when it ends with a newline, which catches a cut inside a line but not one
// at a line boundary.
//
// The scope is opaque here (core/config/scope.hpp makes it): any bytes but a tab or a
// newline. A line of an intact file whose form no longer parses is skipped and
// reported, not fatal: the file is as written, by a build with other rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/manager/manager_edit.hpp"

namespace isb {

inline constexpr std::size_t kMaxStateFileBytes = 4u << 20;
inline constexpr int kStateFileVersion = 2;

struct SavedEdit {
  std::string scope;  // the balancer's virtual host (core/config/scope.hpp); no tab, no newline
  std::vector<FormField> fields;
  bool operator==(const SavedEdit&) const = default;
};

// FNV-1a, 64 bits: a check against truncation and damage, not against forgery
// (only root and the httpd user can write the file).
std::uint64_t fnv1a64(std::string_view bytes) noexcept;

// The whole file, version 2. A tab, CR or newline in a scope becomes '_' (a
// scope never has one; this keeps a bad one from splitting the line).
std::string render_state_file(std::span<const SavedEdit> edits);

// A rendered file of `bytes` that the next start would refuse as a whole (over
// kMaxStateFileBytes) must not be written, nor an edit acknowledged as saved:
// why not, or nothing when it may be.
std::optional<std::string> state_file_too_large(std::size_t bytes);

struct StateFile {
  int version = 0;
  std::vector<SavedEdit> edits;
  std::vector<std::string> skipped;  // "line N: why", for lines of an intact file
};

// Parses a whole file. Returns nothing, and `why`, when the file is refused as a
// whole: too large, not a state file, an unknown version, cut short, or its end
// line does not match what comes before it.
std::optional<StateFile> parse_state_file(std::string_view text, std::string& why);

}  // namespace isb

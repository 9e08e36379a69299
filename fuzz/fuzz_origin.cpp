// libFuzzer target: the balancer-manager's origin check, over the header values a
// client controls (Origin, Referer, Host, Sec-Fetch-Site).
//
// The input is split at the first three newlines into those four values; the
// first byte's low bits say which are present and whether scripts may edit.
// Contracts: a parsed origin is normalised (parsing it again gives itself, it
// has no upper-case letter, path, user information or default port); an edit is
// let through only from the page's own origin, a trusted one, or, with script
// edits on, a request that names no origin and no Sec-Fetch-* header at all.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/manager/origin.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void check_normal(const std::optional<std::string>& origin) {
  if (!origin) return;
  require(isb::parse_origin(*origin) == origin);
  for (char c : *origin) require(!(c >= 'A' && c <= 'Z') && c != '@');
  const std::string_view rest = std::string_view(*origin).substr(origin->find("://") + 3);
  require(rest.find('/') == std::string_view::npos);
  require(!rest.ends_with(origin->starts_with("https") ? ":443" : ":80"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::array<std::string_view, 4> parts{};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t nl = i + 1 < parts.size() ? rest.find('\n') : std::string_view::npos;
    parts[i] = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  const auto& [origin, referer, host, site] = parts;
  check_normal(isb::parse_origin(origin));
  check_normal(isb::origin_of_url(referer));
  const auto own = isb::origin_of_host((flags & 16) != 0 ? "https" : "http", host);
  check_normal(own);

  isb::EditHeaders h;
  if ((flags & 1) != 0) h.origin = origin;
  if ((flags & 2) != 0) h.referer = referer;
  if ((flags & 4) != 0) h.sec_fetch_site = site;
  h.any_sec_fetch = h.sec_fetch_site.has_value() || (flags & 32) != 0;
  const std::vector<std::string> trusted = {"https://admin.example.com"};
  isb::OriginPolicy policy{trusted, (flags & 8) != 0};
  const std::string own_text = own.value_or("");
  const bool allowed = !isb::check_edit_origin(h, own_text, policy).has_value();
  if (!allowed) return 0;
  auto ok = [&](const std::optional<std::string>& o) {
    return o && ((!own_text.empty() && *o == own_text) || *o == trusted[0]);
  };
  if (h.origin) {
    require(ok(isb::parse_origin(*h.origin)));
  } else if (h.referer) {
    require(ok(isb::origin_of_url(*h.referer)));
  } else {
    require(policy.script_edits && !h.any_sec_fetch);
  }
  return 0;
}

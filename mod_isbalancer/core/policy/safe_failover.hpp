// Whether a failover may send the request to another member without changing it:
// body-safe failover. mod_proxy fails a request over whenever the member's scheme
// handler answered 503, and the handlers differ in what a 503 leaves behind:
//
//   - mod_proxy_http (http, https) answers 503 only before any byte of the body
//     went out (connect failure, 100-continue not answered) and keeps what it
//     read of the body (pool userdata "proxy-req-input") to send again to the
//     next member: its failovers send the whole request.
//   - mod_proxy_ajp answers 503 after sending a request only for idempotent
//     methods with no body sent.
//   - mod_proxy_scgi, mod_proxy_uwsgi and mod_proxy_fcgi answer 503 when sending
//     the body fails part-way, with that part read from the client and gone: the
//     next member would get the request with a short or missing body.
//
// The rule, a pure function of what glue knows at the failover:
//
//   attempt 0                                   -> go (nothing to repeat)
//   the failed member's scheme keeps the body   -> go (http, https)
//   any body byte was read from the client      -> refuse, whatever the method
//   else                                        -> go
//
// The method changes nothing. RFC 9110 (9.2.2) lets an idempotent request be
// repeated, but a request whose body was read and not kept would not be repeated:
// the next member would get another request (a PUT with half its body stores half
// a resource), so idempotent methods are refused like the others. And a request
// of which no body byte was read is the one the client sent, for any method; what
// a 503 says about the member having acted on it stays each scheme handler's
// judgement (mod_proxy_ajp's is by method), as in stock. docs/protection.md says
// the same for operators.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace isb {

struct FailedAttempt {
  std::uint32_t attempt = 0;       // the attempt about to be made: 1 is the first failover
  bool idempotent = false;         // GET, HEAD, OPTIONS, TRACE, PUT, DELETE (see above)
  std::int64_t body_read = 0;      // request-body bytes read from the client so far
  bool scheme_keeps_body = false;  // the failed member's scheme (scheme_keeps_body())
};

enum class FailoverSafety : std::uint8_t {
  kSafe,          // the next member gets the request the client sent
  kBodyConsumed,  // refused: part of the body is gone
};

constexpr FailoverSafety failover_safety(const FailedAttempt& a) noexcept {
  if (a.attempt == 0 || a.scheme_keeps_body || a.body_read <= 0) return FailoverSafety::kSafe;
  return FailoverSafety::kBodyConsumed;
}

namespace detail {
constexpr bool equal_nocase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}
}  // namespace detail

// Whether a member of `scheme` (as in its URL, "http" or "HTTPS") is served by
// mod_proxy_http, which keeps the body it read for the next member. Others,
// mod_proxy_http2's h2/h2c among them, are taken not to.
constexpr bool scheme_keeps_body(std::string_view scheme) noexcept {
  return detail::equal_nocase(scheme, "http") || detail::equal_nocase(scheme, "https");
}

// RFC 9110 9.2.2's idempotent methods (names are case-sensitive).
constexpr bool is_idempotent_method(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

}  // namespace isb

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
//   - mod_proxy_fcgi reads (prefetches) up to 16 KiB of the body, or spools all
//     of it, before it connects, and keeps that (pool userdata
//     "proxy-fcgi-input") for the next fcgi member; it sends from there, so what
//     it still keeps after a failure is what it did not send.
//   - mod_proxy_scgi, mod_proxy_uwsgi and mod_proxy_fcgi answer 503 when sending
//     the body fails part-way, with that part read from the client and gone: the
//     next member would get the request with a short or missing body.
//
// The rule, a pure function of what glue knows at the failover:
//
//   attempt 0                                   -> go (nothing to repeat)
//   the failed member's scheme keeps the body   -> go (http, https)
//   it still keeps every body byte it read      -> go (fcgi, failed to connect)
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
  std::uint32_t attempt = 0;   // the attempt about to be made: 1 is the first failover
  bool idempotent = false;     // GET, HEAD, OPTIONS, TRACE, PUT, DELETE (see above)
  std::int64_t body_read = 0;  // request-body bytes read from the client so far
  // The failed member's scheme keeps the whole body it read (scheme_keeps_body())
  // and every member the failover may go to has the same body_handler().
  bool scheme_keeps_body = false;
  // Body bytes the failed member's handler still keeps, unsent, for the next
  // attempt (mod_proxy_fcgi's), when every member the failover may go to has its
  // body_handler(); -1: none that the next member would send.
  std::int64_t body_kept = -1;
};

enum class FailoverSafety : std::uint8_t {
  kSafe,          // the next member gets the request the client sent
  kBodyConsumed,  // refused: part of the body is gone
};

constexpr FailoverSafety failover_safety(const FailedAttempt& a) noexcept {
  if (a.attempt == 0 || a.scheme_keeps_body || a.body_read <= 0) return FailoverSafety::kSafe;
  if (a.body_kept >= a.body_read) return FailoverSafety::kSafe;
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

// Which handler keeps the body it read for the next attempt, and so which
// members can send on what it kept: "http" for mod_proxy_http's schemes, "fcgi"
// for mod_proxy_fcgi's, "" for every other (mod_proxy_http2's h2/h2c among
// them). Each keeps it in a place of its own: a failover sends the body on only
// to a member of the same handler.
constexpr std::string_view body_handler(std::string_view scheme) noexcept {
  if (detail::equal_nocase(scheme, "http") || detail::equal_nocase(scheme, "https")) return "http";
  if (detail::equal_nocase(scheme, "fcgi")) return "fcgi";
  return {};
}

// Whether a member of `scheme` (as in its URL, "http" or "HTTPS") is served by
// mod_proxy_http, which keeps the whole body it read for the next member.
constexpr bool scheme_keeps_body(std::string_view scheme) noexcept {
  return body_handler(scheme) == "http";
}

// RFC 9110 9.2.2's idempotent methods (names are case-sensitive).
constexpr bool is_idempotent_method(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

}  // namespace isb

// Why the balancer-manager refuses a request: the HTTP status, the field it
// concerns (empty when it is the request as a whole) and what to do about it.
#pragma once

#include <string>

namespace isb {

namespace http {
inline constexpr int kOk = 200;
inline constexpr int kBadRequest = 400;
inline constexpr int kForbidden = 403;
inline constexpr int kNotFound = 404;
inline constexpr int kConflict = 409;
inline constexpr int kPayloadTooLarge = 413;
inline constexpr int kUnsupportedMediaType = 415;
inline constexpr int kInternalError = 500;
inline constexpr int kUnavailable = 503;
}  // namespace http

struct Refusal {
  int status = http::kBadRequest;
  std::string field;
  std::string message;
  bool applied = false;  // the edit took effect; only what follows it failed
};

}  // namespace isb

// The member URL of a balanced request, built the way mod_proxy_http's canon
// handler would build it, without running mod_proxy's canon hook chain again.
//
// Stock (and, before this, we) rewrite "balancer://name/path" to
// "proxy:<member name_ex>/path" and run ap_proxy_canon_url() on it, for every
// request. For an http:// or https:// member the only handler that acts on that
// URL is mod_proxy_http's proxy_http_canon(), and what it does splits in two:
//
//   - the member part (ap_proxy_canon_netloc on "//host:port"; scheme, host,
//     port, IPv6 brackets) depends on the member's URL alone: MemberUrl holds it,
//     made once per member and process (sync_members);
//   - the path part (the member's own path, if any, plus the request path)
//     depends on the request: ap_proxy_canonenc_ex() with the same arguments,
//     or the raw path under "proxy-nocanon" / "proxy-noencode", then r->args.
//
// The fast path is taken only when that is provably what ap_proxy_canon_url()
// would do; otherwise (and on any error, so that statuses and log lines stay
// mod_proxy's own) the caller runs ap_proxy_canon_url() as before. See
// canon.cpp for the conditions.
#pragma once

#include <cstddef>

#include "httpd_includes.hpp"

namespace isb::httpd {

// What a member's URL canonicalises to, apart from the request path. Immutable
// once made; lives as long as the process's member pool.
struct MemberUrl {
  const proxy_worker* worker = nullptr;  // the proxy_worker it was made for
  const char* name = nullptr;            // copy of worker->s->name_ex when made
  // "scheme://host[:port]/" as proxy_http_canon writes it; nullptr: no fast path
  // for this member (not http/https, or a URL mod_proxy would refuse).
  const char* prefix = nullptr;
  std::size_t prefix_len = 0;
  // Whether name_ex has a '/' after "scheme://host", and what follows that '/'.
  bool has_path = false;
  const char* path = "";
  std::size_t path_len = 0;
};

// Looks at mod_proxy's canon_handler hook chain (sorted by now): the fast path is
// allowed only if mod_proxy_http's handler is the first one that can act on an
// http(s) URL. Called in post_config; logs the outcome at debug level.
void plan_member_canon(server_rec* s) noexcept;

// Builds the MemberUrl of `worker` in `pool`.
const MemberUrl* make_member_url(const proxy_worker* worker, apr_pool_t* pool) noexcept;

// If `m` (made for `worker`) may stand for ap_proxy_canon_url() on
// "proxy:" name_ex + `path` in this request, sets r->filename to the canonical
// "proxy:" URL, *url to a copy without "proxy:", and returns true. Returns false
// and changes nothing observable otherwise.
bool canon_member_url(request_rec* r, const proxy_worker* worker, const MemberUrl* m,
                      const char* path, char** url) noexcept;

// canon_handler's work for "balancer://name/rest" when the name needs no
// canonicalisation and r->filename is already "proxy:" + url: then the result
// would equal r->filename, so nothing is done and true is returned.
bool balancer_url_is_canonical(const request_rec* r, const char* url) noexcept;

}  // namespace isb::httpd

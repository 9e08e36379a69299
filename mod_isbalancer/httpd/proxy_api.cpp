#include "proxy_api.hpp"

#include <dlfcn.h>

namespace isb::httpd {
namespace {

template <class Fn>
bool lookup(Fn*& out, const char* name, std::string& missing) noexcept {
  void* sym = dlsym(RTLD_DEFAULT, name);
  if (sym == nullptr) {
    if (!missing.empty()) missing += ", ";
    missing += name;
    return false;
  }
  out = reinterpret_cast<Fn*>(sym);
  return true;
}

}  // namespace

ProxyApi& proxy_api() noexcept {
  static ProxyApi api;
  return api;
}

bool resolve_proxy_api(ProxyApi& api, std::string& missing) noexcept {
  missing.clear();
  api.proxy_module = ap_find_linked_module("mod_proxy.c");
  if (api.proxy_module == nullptr) {
    missing = "mod_proxy (proxy_module)";
    return false;
  }
  bool ok = true;
  ok &= lookup(api.share_balancer, "ap_proxy_share_balancer", missing);
  ok &= lookup(api.share_worker, "ap_proxy_share_worker", missing);
  ok &= lookup(api.initialize_worker, "ap_proxy_initialize_worker", missing);
  ok &= lookup(api.canon_netloc, "ap_proxy_canon_netloc", missing);
  ok &= lookup(api.canon_url, "ap_proxy_canon_url", missing);
  ok &= lookup(api.hook_pre_request, "proxy_hook_pre_request", missing);
  ok &= lookup(api.hook_post_request, "proxy_hook_post_request", missing);
  ok &= lookup(api.hook_canon_handler, "proxy_hook_canon_handler", missing);
  ok &= lookup(api.define_worker, "ap_proxy_define_worker", missing);
  api.canonenc_ex =
      reinterpret_cast<decltype(api.canonenc_ex)>(dlsym(RTLD_DEFAULT, "ap_proxy_canonenc_ex"));
  api.get_canon_handler = reinterpret_cast<decltype(api.get_canon_handler)>(
      dlsym(RTLD_DEFAULT, "proxy_hook_get_canon_handler"));
  api.hcmethods = static_cast<proxy_hcmethods_t*>(dlsym(RTLD_DEFAULT, "proxy_hcmethods"));
  return ok;
}

}  // namespace isb::httpd

// The one place the httpd, APR and mod_proxy headers come in. Only files under
// mod_isbalancer/httpd/ include this.
#pragma once

// httpd.h must come first: the other httpd headers rely on its types.
#include <httpd.h>

#include <ap_provider.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_proxy.h>
#include <mpm_common.h>

extern "C" {
extern module AP_MODULE_DECLARE_DATA isbalancer_module;
}

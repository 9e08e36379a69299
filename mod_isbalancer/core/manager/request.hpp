// What a balancer-manager request asks for, and whether it may: the view a GET
// selects, the shape of a POST (media type, the link it is posted to, its
// nonce), the page's Content-Security-Policy and the JSON reply to an edit.
// The httpd layer reads the request's parts and sends what these decide; the
// origin and Host checks are origin.hpp's, the edit rules apply.hpp's.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/manager/manager_edit.hpp"
#include "core/manager/manager_model.hpp"
#include "core/manager/origin.hpp"
#include "core/manager/refusal.hpp"

namespace isb {

enum class Format { kHtml, kJson, kPrometheus, kXml };

// What a GET asks to see: the format, and for the page, the balancer (and
// member) whose form stock's ?b=...&w=... link selects.
struct View {
  Format format = Format::kHtml;
  std::string balancer;
  std::string member;
};

// A GET takes only what selects a view: format= (or stock's xml=), and stock's
// link parameters b= and w= (nonce= is accepted and ignored: a GET changes
// nothing). As on stock, w= selects only together with b=. `query` is the raw
// query string (empty when none).
std::optional<Refusal> parse_view(std::string_view query, View& view);

// Whether the snapshot has what `view` selects; a 404 naming it otherwise.
std::optional<Refusal> check_selection(const ManagerSnapshot& snap, const View& view);

enum class BodyKind { kForm, kJson, kUnsupported };

// An edit's body by its Content-Type (parameters ignored, any case). No
// Content-Type at all (a script's bare POST) is a form, as stock reads it.
BodyKind body_kind(std::string_view content_type);

// A POST may be sent to the page's ?b=...&w=...&nonce=... link, as stock's
// scripts do; the body alone says what is edited. The query may carry only
// those three (an edit field there is refused before anything else).
std::optional<Refusal> parse_link_query(std::string_view query, std::vector<FormField>& link);

// So that a link and a body cannot disagree on which member changes, what the
// link names must be in the body too, with the same value.
std::optional<Refusal> check_link_agrees(std::span<const FormField> link,
                                         std::span<const FormField> body);

// The nonce rule: an edit, or any request that names no balancer of this host
// or carries a nonce, must carry `expected` (the balancer's nonce; empty when
// there is no balancer). Compared in constant time.
std::optional<Refusal> check_nonce(const EditRequest& e, bool balancer_found,
                                   std::string_view expected);

// The page's Content-Security-Policy: its one inline script runs by `script_nonce`,
// and nothing else is loaded, framed or posted elsewhere.
std::string content_security_policy(std::string_view script_nonce);

// The JSON answer to an applied edit: {"ok":true,"balancer":...,"changes":[...]}.
std::string edit_reply_json(std::string_view balancer, std::span<const std::string> changes);

// DNS rebinding: a page whose host name an attacker points at this server
// reaches the manager with that name in Host. A 403 naming `host` (the request's
// host name) when it is none of `names` (host_allowed); nothing when it is.
std::optional<Refusal> check_host(std::string_view host, const HostNames& names);

// An edit's body over kMaxEditBytes: 413.
Refusal edit_too_large();

// The Content-Type of a view.
std::string_view content_type(Format format);

// The answer to a refused request: for a JSON edit {"error":{"status":...,
// "field":...,"message":...}}, else a page saying what was refused (or that the
// edit was applied but what followed failed) with a link back to `page`, the
// manager's own path. Its Content-Type is content_type(json ? kJson : kHtml).
std::string refusal_body(const Refusal& why, bool json, std::string_view page);

// What an applied edit changed, as one line: the changes joined by "; ".
std::string changes_text(std::span<const std::string> changes);

}  // namespace isb

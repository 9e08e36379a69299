#include "core/manager/request.hpp"

#include <algorithm>

#include "core/text/host.hpp"
#include "core/text/json.hpp"

namespace isb {

std::optional<Refusal> parse_view(std::string_view query, View& view) {
  if (query.empty()) return std::nullopt;
  EditError err;
  auto fields = parse_form(query, err);
  if (!fields) return Refusal{http::kBadRequest, err.field, err.message};
  for (const FormField& f : *fields) {
    if (f.name == "format") {
      if (f.value == "json") {
        view.format = Format::kJson;
      } else if (f.value == "prometheus") {
        view.format = Format::kPrometheus;
      } else if (f.value == "xml") {
        view.format = Format::kXml;
      } else if (f.value == "html") {
        view.format = Format::kHtml;
      } else {
        return Refusal{http::kBadRequest, "format", "must be html, json, prometheus or xml"};
      }
    } else if (f.name == "xml") {
      view.format = Format::kXml;
    } else if (f.name == "b") {
      view.balancer = f.value;
    } else if (f.name == "w") {
      view.member = f.value;
    } else if (f.name != "nonce") {
      return Refusal{http::kBadRequest, f.name,
                     "a GET never changes anything; edits are POSTed with the page's nonce"};
    }
  }
  if (view.balancer.empty()) view.member.clear();
  return std::nullopt;
}

std::optional<Refusal> check_selection(const ManagerSnapshot& snap, const View& view) {
  if (view.balancer.empty()) return std::nullopt;
  for (const BalancerSnapshot& b : snap.balancers) {
    if (short_balancer_name(b.name) != view.balancer) continue;
    if (view.member.empty()) return std::nullopt;
    for (const MemberSnapshot& m : b.members) {
      if (m.name == view.member) return std::nullopt;
    }
    return Refusal{http::kNotFound, "w", b.name + " has no member " + view.member};
  }
  return Refusal{http::kNotFound, "b", "this virtual host has no balancer " + view.balancer};
}

BodyKind body_kind(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.empty()) return BodyKind::kForm;
  const std::string lower = lower_ascii(media);
  if (lower == "application/json") return BodyKind::kJson;
  if (lower == "application/x-www-form-urlencoded") return BodyKind::kForm;
  return BodyKind::kUnsupported;
}

std::optional<Refusal> parse_link_query(std::string_view query, std::vector<FormField>& link) {
  if (query.empty()) return std::nullopt;
  EditError err;
  auto fields = parse_form(query, err);
  if (!fields) return Refusal{http::kBadRequest, err.field, err.message};
  for (const FormField& q : *fields) {
    if (q.name != "b" && q.name != "w" && q.name != "nonce") {
      return Refusal{http::kBadRequest, q.name,
                     "an edit carries its fields in the body; the query string may only "
                     "repeat the b, w and nonce of the page's link"};
    }
  }
  link = std::move(*fields);
  return std::nullopt;
}

std::optional<Refusal> check_link_agrees(std::span<const FormField> link,
                                         std::span<const FormField> body) {
  for (const FormField& q : link) {
    const bool agrees = std::any_of(body.begin(), body.end(), [&q](const FormField& f) {
      return f.name == q.name && f.value == q.value;
    });
    if (!agrees) {
      return Refusal{http::kBadRequest, q.name,
                     "the link's " + q.name +
                         "= is not the body's; the body says what is edited, and the link "
                         "it is posted to must name the same"};
    }
  }
  return std::nullopt;
}

std::optional<Refusal> check_nonce(const EditRequest& e, bool balancer_found,
                                   std::string_view expected) {
  if (balancer_found && !e.has_nonce && !e.edits_anything()) return std::nullopt;
  if (e.has_nonce && nonce_equal(balancer_found ? expected : std::string_view{}, e.nonce)) {
    return std::nullopt;
  }
  return Refusal{http::kForbidden, "nonce",
                 e.has_nonce ? "does not match this balancer's nonce; reload the page"
                             : "is missing; every edit carries the nonce the page shows"};
}

std::string content_security_policy(std::string_view script_nonce) {
  std::string csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-";
  csp += script_nonce;
  csp +=
      "'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "
      "'none'";
  return csp;
}

std::string edit_reply_json(std::string_view balancer, std::span<const std::string> changes) {
  std::string reply;
  JsonObject o(reply);
  o.boolean("ok", true).str("balancer", balancer);
  append_array(o.name("changes"), changes, append_json_string);
  o.close();
  reply += '\n';
  return reply;
}

std::optional<Refusal> check_host(std::string_view host, const HostNames& names) {
  if (host_allowed(host, names)) return std::nullopt;
  std::string message =
      "this page answers only to its virtual host's ServerName and ServerAlias names, "
      "localhost, the address it listens on, and the hosts of ISBalancerManagerTrustedOrigin; ";
  message += host;
  message += " is none of them";
  return Refusal{http::kForbidden, "Host", std::move(message)};
}

Refusal edit_too_large() {
  std::string message = "an edit carries at most ";
  message += std::to_string(kMaxEditBytes);
  message += " bytes";
  return Refusal{http::kPayloadTooLarge, "", std::move(message)};
}

std::string_view content_type(Format format) {
  switch (format) {
    case Format::kJson:
      return "application/json";
    case Format::kPrometheus:
      return "text/plain; version=0.0.4; charset=utf-8";
    case Format::kXml:
      return "text/xml; charset=utf-8";
    case Format::kHtml:
      break;
  }
  return "text/html; charset=utf-8";
}

std::string refusal_body(const Refusal& why, bool json, std::string_view page) {
  std::string body;
  if (json) {
    JsonObject doc(body);
    JsonObject error(doc.name("error"));
    error.num("status", why.status).str("field", why.field).str("message", why.message);
    error.close();
    doc.close();
    body += '\n';
    return body;
  }
  body = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
  body += std::to_string(why.status);
  body += "</title></head><body><h1>";
  body += why.applied ? "Applied, not saved" : "Not changed";
  body += "</h1><p>";
  if (!why.field.empty()) {
    body += "<code>";
    body += escape_html(why.field);
    body += "</code>: ";
  }
  body += escape_html(why.message);
  body += "</p><p><a href=\"";
  body += escape_html(page);
  body += "\">Back to the balancer manager</a></p></body></html>\n";
  return body;
}

std::string changes_text(std::span<const std::string> changes) {
  std::string out;
  for (const std::string& c : changes) {
    if (!out.empty()) out += "; ";
    out += c;
  }
  return out;
}

}  // namespace isb

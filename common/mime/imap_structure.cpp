// ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 7.4.2).
#include "mime/imap_structure.hpp"

#include <algorithm>
#include <cctype>

#include "mime/header.hpp"
#include "util/text.hpp"

namespace mailstead::mime {

std::string imap_string(std::string_view s) {
  bool quotable = s.size() < 1024;
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == 0 || c >= 0x80) quotable = false;
  if (!quotable) {
    // A literal never carries NUL (RFC 3501 9): sent as 0x80, as imapd does for bodies.
    std::string out = "{" + std::to_string(s.size()) + "}\r\n";
    for (char c : s) out.push_back(c == '\0' ? '\x80' : c);
    return out;
  }
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string imap_nstring(std::string_view s) { return s.empty() ? "NIL" : imap_string(s); }

namespace {

std::string address_list(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view name,
                         std::string_view fallback = {}) {
  std::string_view value;
  bool found = false;
  for (const auto& [k, v] : fields)
    if (iequals(k, name)) {
      value = v;
      found = true;
      break;
    }
  if (!found || trim(value).empty()) {
    if (!fallback.empty()) return address_list(fields, fallback);
    return "NIL";
  }
  auto addrs = parse_addresses(value);
  if (addrs.empty()) return "NIL";
  std::string out = "(";
  for (const auto& a : addrs) {
    if (a.group_start) out += "(NIL NIL " + imap_nstring(a.mailbox) + " NIL)";
    else if (a.group_end) out += "(NIL NIL NIL NIL)";
    else
      out += "(" + imap_nstring(a.name) + " " + imap_nstring(a.route) + " " + imap_nstring(a.mailbox) + " " +
             (a.host.empty() ? std::string("NIL") : imap_string(a.host)) + ")";
  }
  return out + ")";
}

std::string field(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view name) {
  for (const auto& [k, v] : fields)
    if (iequals(k, name)) return imap_nstring(v);
  return "NIL";
}

std::string params_list(const Params& params) {
  if (params.empty()) return "NIL";
  std::string out = "(";
  bool first = true;
  for (const auto& [k, v] : params) {
    if (!first) out += " ";
    first = false;
    out += imap_string(upper(k)) + " " + imap_string(v);
  }
  return out + ")";
}

std::string extension(const Part& p) {
  std::string disp = p.disposition.empty()
                         ? "NIL"
                         : "(" + imap_string(upper(p.disposition)) + " " + params_list(p.disposition_params) + ")";
  std::string lang = "NIL";
  if (!p.language.empty()) {
    std::vector<std::string> langs;
    std::string cur;
    for (char c : p.language) {
      if (c == ',') { if (!trim(cur).empty()) langs.push_back(std::string(trim(cur))); cur.clear(); }
      else cur.push_back(c);
    }
    if (!trim(cur).empty()) langs.push_back(std::string(trim(cur)));
    if (langs.size() == 1) lang = imap_string(langs[0]);
    else if (!langs.empty()) {
      lang = "(";
      for (std::size_t i = 0; i < langs.size(); ++i) lang += (i ? " " : "") + imap_string(langs[i]);
      lang += ")";
    }
  }
  return disp + " " + lang + " " + imap_nstring(p.location);
}

}  // namespace

std::string envelope(std::string_view message, const Part& p) {
  auto header = message.substr(p.header_begin, p.header_end - p.header_begin);
  auto fields = header_fields(header);
  return "(" + field(fields, "Date") + " " + field(fields, "Subject") + " " + address_list(fields, "From") + " " +
         address_list(fields, "Sender", "From") + " " + address_list(fields, "Reply-To", "From") + " " +
         address_list(fields, "To") + " " + address_list(fields, "Cc") + " " + address_list(fields, "Bcc") + " " +
         field(fields, "In-Reply-To") + " " + field(fields, "Message-ID") + ")";
}

std::string bodystructure(std::string_view message, const Part& p, bool extended) {
  if (p.is_multipart() && !p.children.empty()) {
    std::string out = "(";
    for (const auto& c : p.children) out += bodystructure(message, c, extended);
    out += " " + imap_string(upper(p.subtype));
    if (extended) out += " " + params_list(p.params) + " " + extension(p);
    return out + ")";
  }
  const bool multipart_without_parts = p.is_multipart();
  std::string type = multipart_without_parts ? "TEXT" : upper(p.type);
  std::string subtype = multipart_without_parts ? "PLAIN" : upper(p.subtype);
  Params params = p.params;
  if (type == "TEXT" && std::none_of(params.begin(), params.end(), [](auto& kv) { return kv.first == "charset"; }))
    params.emplace_back("charset", "us-ascii");  // RFC 2045 5.2 default
  std::size_t size = p.body_end > p.header_end ? p.body_end - p.header_end : 0;
  std::string out = "(" + imap_string(type) + " " + imap_string(subtype) + " " + params_list(params) + " " +
                    imap_nstring(p.id) + " " + imap_nstring(p.description) + " " + imap_string(upper(p.encoding)) +
                    " " + std::to_string(size);
  if (p.is_message() && !p.children.empty()) {
    out += " " + envelope(message, p.children.front()) + " " + bodystructure(message, p.children.front(), extended) +
           " " + std::to_string(body_lines(message, p));
  } else if (type == "TEXT") {
    out += " " + std::to_string(body_lines(message, p));
  }
  if (extended) out += " " + imap_nstring(p.md5) + " " + extension(p);
  return out + ")";
}

}  // namespace mailstead::mime

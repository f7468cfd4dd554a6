// Rewriting a message for a list's members (docs/lists.md, "Privacy").
#include "lists/message.hpp"

#include <array>

#include "mime/header.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace mailstead::lists {

namespace {

// Fields that name the sender's real address or host, and fields of ours or of other
// lists that no longer hold for the copy. A new From follows; DKIM signatures break on the
// new From anyway (the copy is signed again for the site domain when it leaves).
bool dropped(std::string_view name) {
  static constexpr std::array<std::string_view, 24> names = {
      "from", "sender", "reply-to", "return-path", "received", "dkim-signature", "authentication-results",
      "received-spf", "arc-seal", "arc-message-signature", "arc-authentication-results", "delivered-to",
      "errors-to", "disposition-notification-to", "return-receipt-to", "x-confirm-reading-to", "x-originating-ip",
      "x-sender", "x-authenticated-sender", "list-id", "list-post", "list-unsubscribe", "list-unsubscribe-post",
      "precedence"};
  for (auto n : names)
    if (iequals(name, n)) return true;
  return iequals(name.substr(0, std::min<std::size_t>(name.size(), 7)), "resent-") ||
         iequals(name.substr(0, std::min<std::size_t>(name.size(), 7)), "x-spam-");
}

}  // namespace

std::string list_id(std::string_view name, std::string_view site_domain) {
  return "<" + std::string(name) + "." + std::string(site_domain) + ">";
}

bool passed_list(std::string_view header, std::string_view name, std::string_view site_domain) {
  auto id = lower(list_id(name, site_domain));
  for (const auto& v : mime::field_values(header, "List-Id"))
    if (lower(v).find(id) != std::string::npos) return true;
  return false;
}

std::string mailbox(std::string_view display_name, std::string_view address) {
  if (display_name.empty()) return "<" + std::string(address) + ">";
  bool ascii = true;
  for (unsigned char c : display_name) ascii &= c >= 0x20 && c < 0x7f;
  std::string name;
  if (ascii) {
    name = "\"";
    for (char c : display_name) {
      if (c == '"' || c == '\\') name += '\\';
      name += c;
    }
    name += "\"";
  } else {
    // RFC 2047 encoded words, each under 75 characters, split on UTF-8 character boundaries.
    std::string_view rest = display_name;
    while (!rest.empty()) {
      std::size_t n = std::min<std::size_t>(rest.size(), 45);
      while (n < rest.size() && n > 0 && (static_cast<unsigned char>(rest[n]) & 0xC0) == 0x80) --n;
      if (n == 0) n = std::min<std::size_t>(rest.size(), 45);
      if (!name.empty()) name += " ";
      name += "=?UTF-8?B?" + base64_encode(rest.substr(0, n)) + "?=";
      rest.remove_prefix(n);
    }
  }
  return name + " <" + std::string(address) + ">";
}

std::string list_copy(std::string_view message, const CopyHeader& h) {
  auto hend = mime::header_end(message);
  auto header = message.substr(0, hend);
  std::string out;
  out.reserve(message.size() + 256);
  out += "From: " + mailbox(h.display_name, h.alias) + "\r\n";
  out += "List-Id: " + list_id(h.list_name, h.site_domain) + "\r\n";
  out += "List-Post: <mailto:" + h.list_address + ">\r\n";
  out += "Precedence: list\r\n";
  // Copy the fields, each with its continuation lines, except the dropped ones.
  bool keep = true;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto eol = header.find('\n', pos);
    auto line = header.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol + 1 - pos);
    pos += line.size();
    if (line == "\r\n" || line == "\n") break;  // the blank line that ends the header
    if (line.front() != ' ' && line.front() != '\t') {
      auto colon = line.find(':');
      keep = colon != std::string_view::npos && !dropped(trim(line.substr(0, colon)));
    }
    if (keep) out.append(line);
  }
  out += "\r\n";
  out.append(message.substr(hend));
  return out;
}

}  // namespace mailstead::lists

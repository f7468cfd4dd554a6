// The copy a pattern-matched list sends (docs/lists.md): the sender shown as their site
// alias with their display name, nothing that names their real address or host (From,
// Sender, Reply-To, trace and authentication fields, read-receipt requests), and the list
// fields of RFC 2369/2919. Pure: message bytes in, message bytes out.
#pragma once

#include <string>
#include <string_view>

namespace mailstead::lists {

struct CopyHeader {
  std::string list_name;     // "cs101-students"
  std::string list_address;  // the address the message was sent to
  std::string site_domain;   // the List-Id's domain
  std::string alias;         // "alice@site.example.org"
  std::string display_name;  // "Alice Liddell" ("" : none)
};

// "<name.site_domain>": the List-Id value (RFC 2919).
std::string list_id(std::string_view name, std::string_view site_domain);
// True when the header already carries this List-Id: the message passed this list before.
bool passed_list(std::string_view header, std::string_view name, std::string_view site_domain);
// A mailbox "Name <addr>" with the name quoted or RFC 2047-encoded as it needs.
std::string mailbox(std::string_view display_name, std::string_view address);
// The list's copy of `message` (CRLF lines).
std::string list_copy(std::string_view message, const CopyHeader& h);

}  // namespace mailstead::lists

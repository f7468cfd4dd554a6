// IMAP URLs (RFC 5092) as CATENATE (RFC 4469) takes them: a message, or a part of one,
// of the logged-in user's own mailboxes. Without I/O; fuzzed with the parser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailstead::imap {

struct ImapUrl {
  bool absolute = false;          // imap://[user@]host[:port]/…
  std::string user;               // percent-decoded; empty when the URL names none
  std::string host;               // lower case, without the port
  bool relative_to_selected = false;  // ";UID=…" alone: a message of the selected mailbox
  std::string mailbox;            // percent-decoded UTF-8 (RFC 5092 3.1)
  std::optional<std::uint32_t> uidvalidity;
  std::uint32_t uid = 0;
  std::string section;            // percent-decoded, "" for the whole message
  std::optional<std::uint64_t> partial_offset, partial_length;
  bool urlauth = false;           // ;EXPIRE= / ;URLAUTH= (RFC 4467): not offered
};

// nullopt: not an IMAP URL naming a message (a mailbox or server URL, a bad escape, …).
std::optional<ImapUrl> parse_imap_url(std::string_view url);

}  // namespace mailstead::imap

// The originator fields of a submitted message (RFC 5322 3.6.2, 3.6.6), read before the
// message leaves under the authenticated user's name (RFC 6409 8.1; docs/smtp.md,
// "Submission"). Pure: the session checks the addresses found against the directory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailstead::smtp {

struct SenderFields {
  // Non-empty: the message is refused (550 5.7.1) with this reason.
  std::string error;
  // There is no From field: the session adds "From: <user>" (RFC 6409 8.1).
  bool add_from = false;
  // Every address the user must be allowed to send as, with the field it came from: the
  // mailbox of From and Sender, every mailbox of Resent-From, and anything that looks
  // like an address inside their display names (quoted, encoded words or plain).
  struct Address {
    std::string field;  // "From", "Sender", "Resent-From"
    std::string address;
  };
  std::vector<Address> addresses;
};

// `header` is the message's header (up to the blank line).
SenderFields examine_sender_fields(std::string_view header);

// The addr-like tokens ("local@domain") inside a display name after RFC 2047 decoding and
// unquoting; a full-width at sign counts as '@'.
std::vector<std::string> addresses_in_display_name(std::string_view display_name);

}  // namespace mailstead::smtp

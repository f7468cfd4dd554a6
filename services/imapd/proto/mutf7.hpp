// Mailbox names on the wire in IMAP4rev1 are "modified UTF-7" (RFC 3501 5.1.3); the store
// keeps UTF-8 (what Sieve's fileinto and the web UI use).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailstead::imap {

std::optional<std::string> mutf7_to_utf8(std::string_view s);  // nullopt: not valid modified UTF-7
std::string utf8_to_mutf7(std::string_view s);

}  // namespace mailstead::imap

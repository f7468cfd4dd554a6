// Routing of the chat gateway's one-member reply addresses (`mm` + 32 hex characters,
// docs/streams.md "Notifications and replies") at RCPT TO, and the sender-to-user lookups the
// gateway's authenticity rules need. What can be decided at RCPT is: the token exists and
// has not expired, the stream takes email, and the session's authenticated user or MAIL FROM
// is the member's; the rest (the From field and its proof) is checked at the end of DATA.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "directory/routing.hpp"

namespace mailstead::streams {

// The local user an address belongs to (primary or alias; tag stripped at `delimiter`,
// case-insensitive), if any.
std::optional<std::uint64_t> user_of_address(store::ReadTxn& txn, std::string_view address, std::string_view delimiter);

// A reply address: `token` is its 32 hex characters (reply_token_of). 550 5.1.1 when unknown
// or expired; 550 5.7.1 when the stream is disabled or takes no email, or the session (its
// authenticated user, else its MAIL FROM) is not the member's.
directory::Route resolve_reply(store::ReadTxn& txn, std::string_view address, std::string_view token,
                               const directory::RouteContext& ctx, std::string_view delimiter, std::int64_t now);

}  // namespace mailstead::streams

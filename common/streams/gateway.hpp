// The chat gateway's posting step, shared by every way mail reaches it (docs/streams.md):
// smtpd at the end of DATA and the IMAP poller of deliverd. A routed stream delivery and the
// message's bytes become a converted post; the post is written inside the caller's batch so
// the reply (SMTP 250, the poller's flag or expunge) follows the commit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "directory/routing.hpp"
#include "streams/convert.hpp"
#include "streams/messages.hpp"
#include "streams/settings.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::streams {

// One message for one stream, converted and ready to write.
struct StreamPost {
  std::string slug;
  StreamMessage message;
  std::vector<Attachment> files;
  std::vector<std::string> keys;  // blob keys of the files
};

struct PostAuthor {
  std::optional<std::uint64_t> user;  // authenticated local sender
  std::string envelope_from;          // MAIL FROM (the Return-Path when polled)
};

// One post per stream among `deliveries` (the first address's options win when a stream
// is named twice). Reads the user's display name from `txn`.
std::vector<StreamPost> prepare_stream_posts(store::ReadTxn& txn, const std::vector<const directory::Delivery*>& deliveries,
                                             std::string_view message, const Settings& settings,
                                             const PostAuthor& author, std::int64_t now);
// Writes the posts inside the caller's batch. A stream removed (or replaced) since routing
// takes nothing; `written` (when given) counts the posts written.
std::error_code write_stream_posts(store::WriteTxn& txn, const std::vector<StreamPost>& posts,
                                   std::size_t* written = nullptr);

}  // namespace mailstead::streams

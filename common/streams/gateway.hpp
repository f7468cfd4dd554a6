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
  std::string dmarc_pass_domain;      // the From domain when DMARC passed on the MX, else ""
  std::string delimiter = "+";        // the sub-address delimiter (routing)
};

struct PreparedPosts {
  std::vector<StreamPost> posts;
  std::optional<directory::Rejection> refused;  // the whole message is refused (550 5.7.1 …)
};

// One post per stream among `deliveries` (the first address's options win when a stream
// is named twice). Who posts (docs/streams.md, "Who posts"): the authenticated user; else the
// local user whose address is the From when DMARC passed for the From domain; else the
// gateway bot with the sender shown, unless the stream refuses unauthenticated mail. A reply
// address posts in its topic only for its member, proved the same way; a message carrying
// the gateway's own X-Loop is refused, and so is automatic mail to a reply address.
PreparedPosts prepare_stream_posts(store::ReadTxn& txn, const std::vector<const directory::Delivery*>& deliveries,
                                   std::string_view message, const Settings& settings, const PostAuthor& author,
                                   std::int64_t now);
// Writes the posts inside the caller's batch, with the members' notifications. A stream
// removed (or replaced) since routing takes nothing; `written` (when given) counts the posts
// written.
std::error_code write_stream_posts(store::WriteTxn& txn, const std::vector<StreamPost>& posts, const Settings& settings,
                                   std::size_t* written = nullptr);

}  // namespace mailstead::streams

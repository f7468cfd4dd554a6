// Notification emails about new stream messages, and the one-member reply addresses they
// carry (docs/streams.md, "Notifications and replies"). When a message is posted, each member
// other than the poster who is not watching the stream (watch.hpp) and has not turned them
// off gets an email, queued in the same transaction as the post; its Reply-To is
// `mm` + 32 hex characters in the gateway pattern, bound to (member, stream, topic), so a
// reply from that member lands in that topic as that member.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "streams/address.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::streams {

struct Settings;
struct StreamMessage;

// What a reply address stands for (table stream_replies, keyed by its 32 hex characters).
struct ReplyToken {
  std::uint64_t user = 0;
  std::uint64_t stream = 0;
  std::string topic;
  std::int64_t created = 0;
  std::int64_t expires = 0;

  std::string encode() const;
  static std::optional<ReplyToken> decode(std::string_view v);
};

// The token of a reply address's part: "mm" + 32 hex characters (any case) → the 32
// characters in lower case; nullopt for anything else.
std::optional<std::string> reply_token_of(std::string_view part);
// The reply address of a token in the gateway pattern ("mm<token>@streams.example.org").
std::string reply_address(const GatewayPattern& p, std::string_view token);
// The binding of a token, unless unknown or expired at `now`.
std::optional<ReplyToken> find_reply(store::ReadTxn& txn, std::string_view token, std::int64_t now);
// The member's token for this topic: the one it has while it is valid for at least another
// day, else a new one valid for `lifetime` seconds (the old one keeps working until it expires).
Result<std::string> reply_token_for(store::WriteTxn& txn, std::uint64_t user, std::uint64_t stream,
                                    std::string_view topic, std::int64_t now, std::int64_t lifetime);

// One notification email, as its parts; build_notification makes the RFC 5322 message.
struct Notification {
  std::string from_name, from_address;  // the gateway bot
  std::string to;                       // the member's address
  std::string reply_to;                 // the member's reply address
  std::string gateway_domain;           // right-hand side of Message-IDs and the List-Id
  std::string stream_slug, stream_name, topic;
  std::string sender_name, sender_address;  // who posted (for a bot post: the email's From)
  std::string body;
  std::uint64_t stream_id = 0, message_id = 0, user = 0;
  std::int64_t time = 0;
};
// Pure: the message with Message-ID <stream-S.msg-M.to-U@domain>, In-Reply-To and References
// naming the topic's thread <stream-S.topic-H@domain>, Auto-Submitted: auto-generated, a
// List-Id, X-Loop, and the body as UTF-8 text (base64 when not plain short ASCII lines).
std::string build_notification(const Notification& n);
// The Message-ID every notification of a topic refers to (threads them in mail clients).
std::string topic_thread_id(std::uint64_t stream, std::string_view topic, std::string_view domain);

// The hook of post() (messages.cpp): queues the notifications about `m` (already written,
// its id set) in the same transaction. Nothing when [streams] notifications is off or the
// gateway has no pattern.
std::error_code queue_notifications(store::WriteTxn& txn, const StreamMessage& m, const Settings& settings);

}  // namespace mailstead::streams

// Chat stream messages in the store (docs/storage.md: stream_messages, stream_topics): each
// message belongs to a stream and a topic; attachments are blobs with a reference each, like
// mailbox messages. Posting runs inside a write batch, so the SMTP 250 or the API's answer
// waits for the commit (docs/streams.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::streams {

struct Settings;

struct AttachmentRef {
  std::string name;          // the file name as sent (sanitised)
  std::string content_type;  // "application/pdf"
  std::string blob;          // content hash: the key of blobs/blob_refs
  std::uint64_t size = 0;
};

// Who posted: a local user (user != 0) or the gateway bot (user == 0) with the email's sender.
struct StreamMessage {
  std::uint64_t id = 0;
  std::uint64_t stream = 0;
  std::string topic;
  std::uint64_t user = 0;
  std::string sender;       // the user's address, or "gateway-bot"
  std::string sender_name;  // display name
  std::string email_from;   // the From address of the email ("" when not by email)
  std::string body;
  std::vector<AttachmentRef> attachments;
  std::string via;  // "email", "cli", "api"
  std::int64_t time = 0;

  std::string encode() const;
  static std::optional<StreamMessage> decode(std::string_view v);
};

// The link to an attachment in a message body: /api/v1/streams/<slug>/attachments/<hex>/<name>
// (the API serves a blob only when a message of that stream links it).
std::string attachment_url(std::string_view slug, std::string_view blob, std::string_view name);
// The message of `stream` that has the attachment with this blob key, if any.
std::optional<AttachmentRef> find_attachment(store::ReadTxn& txn, std::uint64_t stream, std::string_view blob);
std::string hex(std::string_view bytes);

struct NewAttachment {
  AttachmentRef ref;
  std::string_view bytes;  // stored under ref.blob unless already there
};

// Adds a message (topic and body already converted): the next message id, a reference to
// each attachment's blob, the topic index; with `settings`, the members' notification emails
// (notifications.hpp) in the same transaction. Returns the message id.
Result<std::uint64_t> post(store::WriteTxn& txn, StreamMessage msg, const std::vector<NewAttachment>& attachments,
                           const Settings* settings = nullptr);

struct Query {
  std::optional<std::string> topic;  // case-insensitive
  std::uint64_t after = 0;           // message ids greater than this
  std::uint32_t limit = 1000;
};
// Oldest first.
std::vector<StreamMessage> messages(store::ReadTxn& txn, std::uint64_t stream, const Query& q);

struct TopicSummary {
  std::string name;
  std::uint64_t messages = 0;
  std::uint64_t last_id = 0;
};
std::vector<TopicSummary> topics(store::ReadTxn& txn, std::uint64_t stream);

// Removes every message of a stream, dropping attachment references.
std::error_code remove_messages(store::WriteTxn& txn, std::uint64_t stream);

// The longest a topic may be, in bytes (cut at a UTF-8 boundary).
inline constexpr std::size_t max_topic_bytes = 60;
std::string topic_key(std::string_view topic);

}  // namespace mailstead::streams

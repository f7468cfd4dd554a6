// The chat gateway's part in smtpd (docs/streams.md): the rate limits per gateway domain,
// checked at RCPT, and the stream posts a message becomes at the end of DATA, written in the
// same batch as the mailbox deliveries so 250 follows the commit.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "directory/routing.hpp"
#include "streams/convert.hpp"
#include "streams/messages.hpp"
#include "streams/settings.hpp"
#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::smtp {

// Sliding windows per gateway domain, shared by the sessions of every thread. A message
// that would exceed any window is refused (and not counted); the sender retries later.
class StreamRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit StreamRateLimiter(std::vector<streams::RateLimit> limits) : limits_(std::move(limits)) {}
  // true: counted; false: over a limit (the longest wait is in `retry_after`).
  bool allow(const std::string& domain, Clock::time_point now, std::chrono::milliseconds* retry_after = nullptr);

 private:
  std::vector<streams::RateLimit> limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> hits_;
};

// One message for one stream, converted and ready to write.
struct StreamPost {
  std::string slug;
  streams::StreamMessage message;
  std::vector<streams::Attachment> files;
  std::vector<std::string> keys;  // blob keys of the files
};

struct PostAuthor {
  std::optional<std::uint64_t> user;  // authenticated local sender
  std::string envelope_from;          // MAIL FROM
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
                                   std::string_view message, const streams::Settings& settings, const PostAuthor& author,
                                   std::int64_t now);
// Writes the posts inside the delivery's batch, with the members' notifications.
std::error_code write_stream_posts(store::WriteTxn& txn, const std::vector<StreamPost>& posts,
                                   const streams::Settings& settings);

}  // namespace mailstead::smtp

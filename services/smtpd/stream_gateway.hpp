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
#include "streams/gateway.hpp"
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

// The posting step is shared with deliverd's IMAP poller (common/streams/gateway.hpp).
using streams::PostAuthor;
using streams::PreparedPosts;
using streams::prepare_stream_posts;
using streams::StreamPost;
using streams::write_stream_posts;

}  // namespace mailstead::smtp

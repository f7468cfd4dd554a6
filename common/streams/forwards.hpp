// Forwarding a stream's messages to another chat system (docs/streams.md, "Forwarding"):
// each stream has zero or more targets (a Zulip-compatible server, or a Slack/Mattermost-style
// incoming webhook); posting a message writes one job per target in the same transaction,
// and mailstead-deliverd sends the jobs of each target in message order (forwarder.hpp).
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

// An http:// or https:// URL split for a request: no user info, no fragment.
struct HttpUrl {
  bool https = true;
  std::string host;    // a name, or an address (IPv6 without brackets)
  std::uint16_t port = 443;
  std::string target;  // path and query, at least "/"
};
// nullopt with `why` when the URL is not one (other schemes, user info, a bad port...).
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string* why = nullptr);

enum class ForwardKind : std::uint8_t { zulip = 0, webhook = 1 };
const char* forward_kind_name(ForwardKind k);
std::optional<ForwardKind> parse_forward_kind(std::string_view s);

// Table stream_forwards: stream id + target id → ForwardTarget.
struct ForwardTarget {
  std::uint64_t id = 0;
  std::uint64_t stream = 0;
  ForwardKind kind = ForwardKind::zulip;
  std::string site;        // zulip: "https://chat.example.org" (the API is under /api/v1)
  std::string bot_email;   // zulip: the bot's email, the Basic auth user
  std::string secret;      // zulip: the bot's API key; webhook: the whole URL. Never printed or logged.
  std::string to_stream;   // zulip: the stream there ("": this stream's name)
  bool allow_http = false;  // plain http:// allowed (a receiver on this machine); else https only
  std::int64_t created = 0;

  std::string encode() const;
  static std::optional<ForwardTarget> decode(std::string_view v);
  // The URL requests go to: {site}/api/v1/messages, or the webhook URL.
  std::string url() const;
  // What may be shown of the target: the site, or the webhook URL cut after its host.
  std::string shown_url() const;
  // The secret as shown: its last 4 characters at most ("…a1b2"); a webhook URL shows none.
  std::string secret_hint() const;
};

enum class JobState : std::uint8_t { pending = 0, failed = 1 };

// Table forward_jobs: target id + state + message id → ForwardJob. Pending jobs of a target
// are sent oldest first, one at a time, so the other side sees the stream's order.
struct ForwardJob {
  std::uint64_t target = 0;
  std::uint64_t stream = 0;
  std::uint64_t message = 0;
  JobState state = JobState::pending;
  std::int64_t created = 0;     // seconds
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;  // milliseconds since 1970
  std::string last_error;
  std::string lease_owner;       // a deliverd instance sending it now
  std::int64_t lease_until = 0;  // seconds
  std::int64_t failed_at = 0;    // seconds (state failed)

  std::string key() const;
  std::string encode() const;
  static std::optional<ForwardJob> decode(std::string_view v);
};

// Checks a new target (URL shapes, http only with allow_http, bot email, secret present).
Result<void> check_target(const ForwardTarget& t);
// Adds a target to a stream: the next id, the time. Returns the target as stored.
Result<ForwardTarget> add_forward(store::WriteTxn& txn, ForwardTarget t);
// Removes a target and its jobs (pending and failed); not_found when the stream has no such target.
Result<void> remove_forward(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t target);
std::vector<ForwardTarget> forwards_of(store::ReadTxn& txn, std::uint64_t stream);
std::vector<ForwardTarget> all_forwards(store::ReadTxn& txn);
std::optional<ForwardTarget> get_forward(store::ReadTxn& txn, std::uint64_t stream, std::uint64_t target);
// Every target and job of a stream (the stream is being removed).
std::error_code remove_forwards(store::WriteTxn& txn, std::uint64_t stream);

// The post path's one call (messages.cpp): a pending job per target of the stream.
std::error_code enqueue_forwards(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t message, std::int64_t now_s);

// The oldest pending job of a target.
std::optional<ForwardJob> head_job(store::ReadTxn& txn, std::uint64_t target);
struct JobCounts {
  std::uint64_t pending = 0;
  std::uint64_t failed = 0;
};
JobCounts count_jobs(store::ReadTxn& txn, std::uint64_t target);
// Jobs of a target in one state, oldest first, at most `limit`.
std::vector<ForwardJob> jobs_of(store::ReadTxn& txn, std::uint64_t target, JobState state, std::size_t limit);
std::error_code put_job(store::WriteTxn& txn, const ForwardJob& job);
// Removes a job from whichever state it is in.
void delete_job(store::WriteTxn& txn, const ForwardJob& job);

}  // namespace mailstead::streams

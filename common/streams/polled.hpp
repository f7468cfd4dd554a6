// Messages the IMAP poller takes from an external mailbox (docs/streams.md, "Polling an IMAP
// mailbox"): which stream address a message was sent to (it has no envelope), and the store
// records that make each message posted once across restarts: (mailbox, UIDVALIDITY, UID)
// and (stream, Message-ID), written in the same batch as the post.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "directory/routing.hpp"
#include "streams/gateway.hpp"
#include "streams/settings.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::streams {

// The polled mailbox a record belongs to: 16 bytes standing for host, port, user and mailbox.
std::string poll_source(std::string_view host, std::uint32_t port, std::string_view user, std::string_view mailbox);

enum class PollOutcome : std::uint8_t {
  posted = 1,     // posted to the stream(s); then deleted or flagged on the server
  refused = 2,    // no stream address that takes it: flagged and left on the server
  duplicate = 3,  // its Message-ID was posted to the stream already (a second copy)
};
const char* outcome_name(PollOutcome o);

struct PollRecord {
  PollOutcome outcome = PollOutcome::posted;
  std::int64_t time = 0;
  std::string address;  // the stream address it was taken for ("" when refused without one)
  std::string reason;   // why refused
};
std::optional<PollRecord> find_polled(store::ReadTxn& txn, std::string_view source, std::uint32_t uidvalidity,
                                      std::uint32_t uid);

// The addresses a polled message may have been sent to, in the order the reference gateway
// looks (Delivered-To, X-Original-To, then To and Cc): those the gateway pattern matches.
std::vector<std::string> polled_addresses(std::string_view message, const GatewayPattern& pattern);
// The Message-ID without angle brackets and white space ("" when there is none).
std::string message_id(std::string_view message);

// What a polled message becomes, decided on a snapshot: the posts (routed by the same rules
// as SMTP to the stream address, as an unauthenticated sender), or why it is refused.
struct PolledMessage {
  std::string source;
  std::uint32_t uidvalidity = 0, uid = 0;
  std::string address;     // the stream address used
  std::string message_id;  // "" when none
  std::vector<StreamPost> posts;
  std::optional<directory::Rejection> refused;
};
PolledMessage prepare_polled(store::ReadTxn& txn, const directory::RoutingSettings& routing, const Settings& settings,
                             std::string_view message, std::int64_t now);

// Inside the batch: when the UID is recorded already, nothing (returns that record's
// outcome); else writes the posts (unless the Message-ID was posted to the stream before)
// and the records. Returns what the message became.
std::error_code commit_polled(store::WriteTxn& txn, const PolledMessage& m, const Settings& settings, std::int64_t now,
                              PollOutcome& outcome);

}  // namespace mailstead::streams

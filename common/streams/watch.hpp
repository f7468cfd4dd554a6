// Who is watching a stream, and who wants its notification emails (docs/streams.md,
// "Notifications"). A member "watches" a stream while a client shows it live (the web UI's
// stream view over its WebSocket): watching members get no email about new messages. Each
// member also has a notification mode for the stream (all or none). Store work only: each
// function runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::streams {

// Marks `user` as watching `stream` until `until` (seconds since the epoch). A live view
// calls it when it subscribes and again on each heartbeat, with `until` a little past the
// next heartbeat (e.g. now + 2 × the heartbeat interval), so a client that vanishes without
// closing stops counting by itself. `until` <= now (or stop_watching) ends it at once.
std::error_code set_watching(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t user, std::int64_t until);
std::error_code stop_watching(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t user);
// True while a set_watching of this member is not past its `until`.
bool is_watching(store::ReadTxn& txn, std::uint64_t stream, std::uint64_t user, std::int64_t now);
// The time watching ends (0: not watching, or expired before `now`).
std::int64_t watching_until(store::ReadTxn& txn, std::uint64_t stream, std::uint64_t user, std::int64_t now);

// A member's notification emails for one stream.
enum class NotifyMode : std::uint8_t {
  all = 0,   // an email for each message posted by someone else while not watching (the default)
  none = 1,  // no emails
};
const char* notify_mode_name(NotifyMode m);
std::optional<NotifyMode> parse_notify_mode(std::string_view s);
NotifyMode notify_mode(store::ReadTxn& txn, std::uint64_t stream, std::uint64_t user);
std::error_code set_notify_mode(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t user, NotifyMode m);

// A member left the stream (or the user is removed): its watch, its notification mode and
// its reply addresses go (a reply address of a former member answers 550 5.1.1).
std::error_code forget_member(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t user);
// The stream is removed: the same for every member.
std::error_code forget_stream(store::WriteTxn& txn, std::uint64_t stream);

}  // namespace mailstead::streams

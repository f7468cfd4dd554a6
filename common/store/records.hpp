// Typed values of the mailbox tables (docs/storage.md has the byte layouts). IMAP state
// is first-class: UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ per mailbox; UID, MODSEQ, flags,
// INTERNALDATE and size per message; an expunge log for QRESYNC (RFC 7162).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::store {

// System flags as bits; keywords are stored by name.
enum Flag : std::uint32_t {
  flag_seen = 1,
  flag_answered = 2,
  flag_flagged = 4,
  flag_deleted = 8,
  flag_draft = 16,
};
// "\Seen" (any case) → flag_seen, and so on; 0 for anything else (a keyword, or "\Recent").
std::uint32_t system_flag(std::string_view name);

struct MailboxRecord {
  std::uint64_t id = 0;
  std::uint64_t owner = 0;
  std::string name;         // UTF-8, "/" as the hierarchy delimiter
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint64_t highestmodseq = 1;
  std::string special_use;  // "\Sent", "\Junk", … or empty
  bool subscribed = true;
  // Schema version 2: totals kept with every change, so STATUS never scans.
  std::uint32_t messages = 0;
  std::uint32_t unseen = 0;
  std::uint64_t bytes = 0;

  std::string encode() const;
  std::string encode_v1() const;  // the layout of schema version 1 (for the migration test)
  static std::optional<MailboxRecord> decode(std::string_view v);
  static std::optional<MailboxRecord> decode_v1(std::string_view v);
};

struct MessageRecord {
  std::uint64_t modseq = 0;
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::int64_t internaldate = 0;  // seconds since the epoch
  std::uint64_t size = 0;         // RFC822.SIZE: prefix + blob
  std::string blob;               // content hash: the key in blobs, blob_refs and blob_cache
  std::string prefix;             // per-recipient header lines (Return-Path, Delivered-To)

  std::string encode() const;
  static std::optional<MessageRecord> decode(std::string_view v);
};

struct BlobRef {
  std::uint32_t refs = 0;
  std::uint64_t size = 0;
  std::string encode() const;
  static std::optional<BlobRef> decode(std::string_view v);
};

// Where one recipient of a queued message stands (docs/storage.md, docs/delivery.md).
enum class RecipientState : std::uint8_t { pending = 0, deferred = 1, delivered = 2, failed = 3 };
const char* state_name(RecipientState s);

struct QueueRecipient {
  std::string address;
  RecipientState state = RecipientState::pending;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;  // pending/deferred: not before this (seconds)
  std::int64_t last_attempt = 0;
  std::string last_reply;         // the remote reply or why not, e.g. "550 5.1.1 <x>: unknown user"
  std::string remote;             // the host that gave it ("mx.example.net [192.0.2.1]")

  bool final() const { return state == RecipientState::delivered || state == RecipientState::failed; }
};

enum QueueFlag : std::uint8_t {
  queue_warned = 1,  // a delay warning went to the sender
  queue_bounce = 2,  // a DSN or other message that must never cause a DSN
};

struct QueueRecord {
  std::uint64_t id = 0;
  std::string sender;                   // envelope MAIL FROM ("" for a bounce)
  // enqueue(): the recipients to deliver to. decode(): every recipient's address.
  std::vector<std::string> recipients;
  std::string blob;
  std::string prefix;
  std::uint64_t authenticated_user = 0;  // 0: not from a submission session
  std::int64_t created = 0;
  std::int64_t next_attempt = 0;  // enqueue(): the first attempt; decode(): the earliest still due
  std::uint32_t attempts = 0;     // delivery attempts of the message
  std::string last_error;         // decode(): the last reply of a recipient not yet delivered
  // Schema 3: per-recipient state, the scheduling index and the lease.
  std::vector<QueueRecipient> states;
  std::int64_t due = 0;           // the key under which queue_due lists this record (0: none)
  std::string lease_owner;        // the delivery instance working on it
  std::int64_t lease_until = 0;   // its claim ends then, even if it died
  std::uint8_t flags = 0;         // QueueFlag bits

  std::string encode() const;
  static std::optional<QueueRecord> decode(std::string_view v);
  static std::optional<QueueRecord> decode_v2(std::string_view v);  // schemas 2 and 3, for the migration to 4
  std::string encode_v2() const;                                     // schema 2, for the migration test
};

}  // namespace mailstead::store

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

struct QueueRecord {
  std::uint64_t id = 0;
  std::string sender;                   // envelope MAIL FROM ("" for a bounce)
  std::vector<std::string> recipients;  // remote addresses still to deliver
  std::string blob;
  std::string prefix;
  std::uint64_t authenticated_user = 0;  // 0: not from a submission session
  std::int64_t created = 0;
  std::int64_t next_attempt = 0;
  std::uint32_t attempts = 0;
  std::string last_error;

  std::string encode() const;
  static std::optional<QueueRecord> decode(std::string_view v);
};

}  // namespace mailstead::store

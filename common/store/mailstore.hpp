// Mailbox and message operations over the store contract, shared by smtpd (delivery),
// imapd (APPEND, STORE, EXPUNGE, COPY/MOVE) and the admin operations. Each runs inside a
// write batch, so the caller's reply waits for the group commit (DESIGN principle 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "store/records.hpp"
#include "util/error.hpp"

namespace mailstead::store {

class ReadTxn;
class WriteTxn;

// Next value of a named counter in meta (starts at 1).
std::uint64_t next_id(WriteTxn& txn, std::string_view counter);

// The content hash of a message: the key of blobs, blob_refs and blob_cache.
std::string blob_key(std::string_view bytes);

// The special-use mailboxes every new user gets (RFC 6154), INBOX first.
struct DefaultMailbox {
  const char* name;
  const char* special_use;
};
const std::vector<DefaultMailbox>& default_mailboxes();

Result<std::uint64_t> create_mailbox(WriteTxn& txn, std::uint64_t owner, std::string_view name,
                                     std::string_view special_use = {}, bool subscribed = true);
std::optional<MailboxRecord> get_mailbox(ReadTxn& txn, std::uint64_t id);
std::optional<MailboxRecord> find_mailbox(ReadTxn& txn, std::uint64_t owner, std::string_view name);
// In name order, INBOX first.
std::vector<MailboxRecord> list_mailboxes(ReadTxn& txn, std::uint64_t owner);
// Removes the mailbox and every message in it (their blobs lose a reference).
std::error_code delete_mailbox(WriteTxn& txn, std::uint64_t id);

// Stores the bytes under their hash unless already there. References are added by append().
std::error_code put_blob(WriteTxn& txn, std::string_view key, std::string_view bytes);
std::optional<std::string_view> get_blob(ReadTxn& txn, std::string_view key);
std::optional<BlobRef> get_blob_ref(ReadTxn& txn, std::string_view key);

struct Appended {
  std::uint32_t uid = 0;
  std::uint64_t modseq = 0;
};
// Adds a message to the mailbox: the next UID, the next MODSEQ, a blob reference and the
// mailbox totals. The blob must have been put in the same transaction or before.
Result<Appended> append(WriteTxn& txn, std::uint64_t mailbox_id, MessageRecord msg);
std::optional<MessageRecord> get_message(ReadTxn& txn, std::uint64_t mailbox_id, std::uint32_t uid);
// Changes a message's flags and keywords: the next MODSEQ, and the unseen total.
Result<std::uint64_t> set_flags(WriteTxn& txn, std::uint64_t mailbox_id, std::uint32_t uid, std::uint32_t flags,
                                std::vector<std::string> keywords);
// The same for many messages of one mailbox, reading and writing the mailbox record once.
// Each change gets its MODSEQ, or 0 when the message is gone.
struct FlagChange {
  std::uint32_t uid = 0;
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::uint64_t modseq = 0;  // out
};
Result<void> set_flags(WriteTxn& txn, std::uint64_t mailbox_id, std::vector<FlagChange>& changes);
// Renames a mailbox (UIDVALIDITY stays: the messages did not change).
Result<void> rename_mailbox(WriteTxn& txn, std::uint64_t id, std::string_view new_name);
Result<void> set_subscribed(WriteTxn& txn, std::uint64_t id, bool subscribed);
// Records that a user moved a message into (true) or out of (false) the Spam mailbox,
// for spam training (table spam_training).
std::error_code record_spam_move(WriteTxn& txn, std::uint64_t user, std::string_view blob, bool into_spam,
                                 std::int64_t when);

// Removes one message, logs (MODSEQ → UID) for QRESYNC and frees the blob with its last reference.
std::error_code expunge(WriteTxn& txn, std::uint64_t mailbox_id, std::uint32_t uid);

// Adds a message to the outbound queue; returns its id. `rec.recipients` become pending
// recipients due at `rec.next_attempt` (docs/delivery.md).
Result<std::uint64_t> enqueue(WriteTxn& txn, QueueRecord rec);
// Writes a queue record and keeps the queue_due index in step with it: a leased record is
// listed at its lease's end, others at their earliest pending recipient, a finished one
// nowhere. Sets rec.due.
std::error_code put_queued(WriteTxn& txn, QueueRecord& rec);
std::optional<QueueRecord> get_queued(ReadTxn& txn, std::uint64_t id);
// Removes a queue record, its index entry and its blob reference.
std::error_code remove_queued(WriteTxn& txn, std::uint64_t id);
// The queue_due key: due time then id, both big-endian.
std::string queue_due_key(std::int64_t due, std::uint64_t id);
// Drops one reference to a blob; the last one removes the bytes and the cached parse.
std::error_code unref_blob(WriteTxn& txn, std::string_view key);

}  // namespace mailstead::store

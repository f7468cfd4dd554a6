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

// `subscribed` adds the name to the user's subscriptions.
Result<std::uint64_t> create_mailbox(WriteTxn& txn, std::uint64_t owner, std::string_view name,
                                     std::string_view special_use = {}, bool subscribed = true);
std::optional<MailboxRecord> get_mailbox(ReadTxn& txn, std::uint64_t id);
std::optional<MailboxRecord> find_mailbox(ReadTxn& txn, std::uint64_t owner, std::string_view name);
// In name order, INBOX first; `subscribed` filled from the subscriptions table.
std::vector<MailboxRecord> list_mailboxes(ReadTxn& txn, std::uint64_t owner);
// Removes the mailbox and every message in it (their blobs lose a reference).
std::error_code delete_mailbox(WriteTxn& txn, std::uint64_t id);

// Stores the bytes under their hash unless already there. References are added by append().
std::error_code put_blob(WriteTxn& txn, std::string_view key, std::string_view bytes);
std::optional<std::string_view> get_blob(ReadTxn& txn, std::string_view key);
std::optional<BlobRef> get_blob_ref(ReadTxn& txn, std::string_view key);
// Removes a blob nothing refers to (put by a writer whose appends all fell through, such as
// a delivery to a user removed since RCPT). A referenced or absent blob is left alone.
std::error_code drop_unreferenced_blob(WriteTxn& txn, std::string_view key);

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

// A flag change as IMAP STORE asks for it (RFC 3501 6.4.6), applied to what is stored at
// the moment of the write: another session's change made since a client last looked is
// kept, not overwritten with that client's stale view.
enum class FlagOp { replace, add, remove };
struct FlagUpdate {
  FlagOp op = FlagOp::replace;
  std::uint32_t flags = 0;            // system flag bits
  std::vector<std::string> keywords;  // compared ASCII case-insensitively
  // RFC 7162 3.1.3: change only messages whose MODSEQ is not above this, checked against
  // the record the same transaction changes.
  std::optional<std::uint64_t> unchanged_since;
};
// `flags` and `keywords` after the update (a keyword added once, whatever its case).
void apply(const FlagUpdate& u, std::uint32_t& flags, std::vector<std::string>& keywords);
struct FlagOutcome {
  enum class Kind { changed, unchanged, modified, gone };
  Kind kind = Kind::gone;  // modified: UNCHANGEDSINCE failed; gone: no such message
  // The message as stored after the update (for every kind but gone).
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::uint64_t modseq = 0;
};
// Applies `u` to each UID of the mailbox in the transaction, one outcome per UID in order.
// A message whose flags change gets the mailbox's next MODSEQ; one whose flags stay keeps
// its MODSEQ. The mailbox record (HIGHESTMODSEQ, unseen total) is written once.
Result<std::vector<FlagOutcome>> update_flags(WriteTxn& txn, std::uint64_t mailbox_id,
                                              const std::vector<std::uint32_t>& uids, const FlagUpdate& u);
// Renames a mailbox (UIDVALIDITY stays: the messages did not change).
Result<void> rename_mailbox(WriteTxn& txn, std::uint64_t id, std::string_view new_name);
// IMAP subscriptions are kept by name, independent of any mailbox's existence (RFC 3501
// 6.3.6): DELETE leaves a subscription, SUBSCRIBE may name a mailbox that does not exist.
std::error_code set_subscription(WriteTxn& txn, std::uint64_t owner, std::string_view name, bool subscribed);
// The user's subscribed names, in byte order.
std::vector<std::string> subscriptions(ReadTxn& txn, std::uint64_t owner);
bool is_subscribed(ReadTxn& txn, std::uint64_t owner, std::string_view name);
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

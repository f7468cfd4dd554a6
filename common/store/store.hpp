// The store contract (DESIGN.md principles 2, 5, 8): short read transactions, and write
// batches that a single writer thread per process groups into one transaction and one
// fsync. Nothing outside common/store includes <lmdb.h>; another backend implements this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mailstead::store {

// Every table the schema has. docs/storage.md documents each key and value layout.
enum class Table : std::uint8_t {
  meta,             // name → value: schema version, id counters
  domains,          // domain (A-label, lower case) → DomainRecord
  users,            // user id (u64) → UserRecord
  user_by_address,  // primary address → user id
  aliases,          // alias address → AliasRecord
  groups,           // group address → GroupRecord
  streams,          // stream slug → StreamRecord (schema 5; before: stream address → address, name, created)
  mailboxes,        // mailbox id (u64) → MailboxRecord
  mailbox_by_name,  // owner id (u64) + name → mailbox id
  messages,         // mailbox id (u64) + UID (u32) → MessageRecord
  blobs,            // content hash (32 bytes) → the message bytes
  blob_refs,        // content hash → reference count (u32) + size (u64)
  blob_cache,       // content hash → parsed ENVELOPE/BODYSTRUCTURE/header index
  expunge_log,      // mailbox id (u64) + MODSEQ (u64) → UID (u32)
  queue,            // queue id (u64) → QueueRecord
  spam_training,    // event id (u64) → user, blob, direction, time (moves into/out of Spam)
  sieve_scripts,    // user id (u64) + script name → the script's bytes as uploaded
  sieve_active,     // user id (u64) → the name of the active script
  sieve_tracking,   // user id (u64) + kind + SHA-256 of a key → expiry (i64): vacation replies, duplicate IDs
  queue_due,        // due time (u64 seconds) + queue id (u64) → "": the outbound queue by next look
  send_log,         // time (u64 seconds) + sequence (u64) → SendLogEntry: every delivery attempt
  dkim_keys,        // domain + '\0' + selector → DKIM signing key (common/dkim/keys.hpp)
  relays,           // "*" (the default) or a sender domain → relay (smarthost) settings (common/relay)
  admins,           // user id (u64) → time the admin role was granted (i64)
  api_tokens,       // token id (u64) → ApiTokenRecord (the secret only as a digest)
  web_sessions,     // BLAKE2b-256 of the session cookie → WebSessionRecord
  app_passwords,    // user id (u64) + app password id (4 bytes) → AppPasswordRecord
  auth_limits,      // failed-login counters and trusted logins, with expiry (common/auth/limit_table.hpp)
  subscriptions,    // user id (u64) + mailbox name → "" (IMAP subscriptions, by name: RFC 3501 6.3.6)
  dmarc_overrides,  // domain (lower case) → the admin's DMARC action for it (common/inbound/dmarc_overrides.hpp)
  mta_sts,          // recipient domain → cached MTA-STS policy: TXT id, fetch time, expiry, body (services/deliverd/mta_sts.hpp)
  stream_messages,  // stream id (u64) + message id (u64) → StreamMessage (common/streams/messages.hpp)
  stream_topics,    // stream id (u64) + lower-cased topic + '\0' + message id (u64) → "": messages by topic
  inbound_rules,    // list + user (u64) + kind + value → the admin's inbound block/allow rules (common/inbound)
  greylist,         // greylisting triplets and their expiry order (common/inbound/rules.hpp)
  alias_by_user,    // user id (u64) + alias address → "": each user's aliases, for pages of users
  stream_poll,      // the IMAP poller's record of what it took from a mailbox (common/streams/polled.hpp)
  lists,            // list name → ListRecord: pattern-matched lists (common/lists/lists.hpp)
  external_addresses,  // lower-cased external address → user id (u64): addresses registered to accounts
  external_by_user,    // user id (u64) + external address → "": each account's registered addresses
  stream_forwards,  // stream id (u64) + target id (u64) → ForwardTarget (common/streams/forwards.hpp)
  forward_jobs,     // target id (u64) + state (u8) + message id (u64) → ForwardJob: the forwarding queue
  stream_watch,     // stream id (u64) + user id (u64) → watching until (i64 seconds) (common/streams/watch.hpp)
  stream_notify,    // stream id (u64) + user id (u64) → the member's notification mode (u8; absent: all)
  stream_replies,   // reply token (32 hex) → ReplyToken: member, stream, topic, expiry (common/streams/notifications.hpp)
  stream_reply_by_member,  // stream id (u64) + user id (u64) + lower-cased topic → reply token
  count_
};
inline constexpr int table_count = static_cast<int>(Table::count_);
const char* table_name(Table t);
// The tables whose changes are counted (ReadTxn::table_changes): the directory's. Each
// batch that puts or deletes in one adds 1 to `meta/changes:<table>` inside the same
// transaction, so the count can never miss a change nor count an undone one.
constexpr bool counted_table(Table t) {
  return t == Table::domains || t == Table::users || t == Table::user_by_address || t == Table::aliases ||
         t == Table::alias_by_user || t == Table::groups;
}
std::string changes_key(Table t);  // "changes:<table>", the meta key of its count

enum class Errc {
  ok = 0,
  map_full = 1,      // handled inside the store: the map grows and the group is retried
  readers_full,
  corrupt,           // a value failed to decode
  aborted,           // a batch function chose not to commit
  io,                // the disk or LMDB failed
  version,           // the store's schema is newer than this program
  shutting_down,
  too_large,         // a key or value over the backend's limit
  full,              // no room: the disk (or file system quota) is full, or the map cannot grow
};
// The store failed for a reason outside this program (full, I/O, readers, shutting down):
// a temporary condition for the client, not a bug in the server.
bool is_temporary(std::error_code ec);
const std::error_category& store_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), store_category()}; }

// Iterates one table in key order. Views stay valid until the cursor moves or the
// transaction ends.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual bool seek(std::string_view key) = 0;  // first key >= key
  virtual bool first() = 0;
  virtual bool last() = 0;
  virtual bool next() = 0;
  virtual bool prev() = 0;
  virtual bool valid() const = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
};

// A read transaction: a consistent snapshot. Never hold one across a co_await: it pins
// the snapshot and holds up map growth for every session (docs/architecture.md); every
// suspension point of the services checks it (no_transaction_open below).
class ReadTxn {
 public:
  ReadTxn();
  virtual ~ReadTxn();
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  // The view is valid until the transaction ends.
  virtual std::optional<std::string_view> get(Table t, std::string_view key) = 0;
  virtual std::unique_ptr<Cursor> cursor(Table t) = 0;
  // The store's change counter as of this snapshot: it grows with every commit by any
  // process, and the snapshot holds every commit up to it. What a snapshot contains is
  // known only from here (Store::generation is a hint that may run ahead of it).
  virtual std::uint64_t change_counter() const = 0;
  // How many committed batches have changed table `t` (counted_table below), as of this
  // snapshot: equal values mean the table is unchanged, whichever process wrote. Lets a
  // process keep a copy of a table in memory (admin-api's directory search) that stays
  // valid while mail traffic moves change_counter().
  std::uint64_t table_changes(Table t);

 private:
  std::size_t* open_count_;  // the creating thread's count of open transactions
};

// Transactions open on the calling thread (read transactions of sessions, mostly).
std::size_t transactions_open_on_this_thread();
// Call before a session suspends (co_await): true when no transaction is open on this
// thread. Otherwise a transaction would live across the suspension: debug builds (the
// sanitizer build is one) abort; release builds log `store.txn.across_suspension` at error
// level, naming `where`, and return false.
bool no_transaction_open(const char* where);

// A write transaction, as a batch function sees it.
class WriteTxn : public ReadTxn {
 public:
  virtual std::error_code put(Table t, std::string_view key, std::string_view value) = 0;
  virtual bool del(Table t, std::string_view key) = 0;  // false when absent
  // Records that a mailbox changed; once the commit is durable the store's commit hook
  // hears of it (and tells other processes). mailstore.cpp calls it for every change.
  void touch(std::uint64_t mailbox) { touched_.push_back(mailbox); }
  const std::vector<std::uint64_t>& touched() const { return touched_; }

 private:
  std::vector<std::uint64_t> touched_;
};

// A batch: changes made inside the writer's transaction. It returns an error to undo
// its own changes only. It may run more than once (the store retries a group after
// growing the map), so it must compute outputs from the transaction, not accumulate.
using BatchFn = std::function<std::error_code(WriteTxn&)>;
// Called on the writer thread after the transaction holding the batch is durable
// (or failed). Keep it short: post to the caller's executor.
using Completion = std::function<void(std::error_code)>;

struct Options {
  std::string path;                          // a directory; created if missing
  std::uint64_t map_size = std::uint64_t{1} << 30;
  std::uint32_t max_readers = 4096;
  std::uint32_t max_batches_per_commit = 1024;  // 1 = one fsync per batch (bench baseline)
  // When set: before an older schema is migrated forward, a copy of the store as it was is
  // written to a new directory under this one (`pre-upgrade-schema-<v>-<unix time>`).
  std::string backup_before_upgrade{};
};

class Store {
 public:
  virtual ~Store() = default;
  virtual std::unique_ptr<ReadTxn> read() = 0;
  virtual void submit(BatchFn fn, Completion done) = 0;
  // Submits and blocks until durable: for the CLI and for tests, not for sessions.
  std::error_code commit_sync(BatchFn fn);
  // Stops the writer after the batches already submitted.
  virtual void close() = 0;
  // Writes a consistent, compacted copy of the store (one snapshot, free space left out)
  // into the existing empty directory `dir`, while others go on reading and writing.
  virtual std::error_code copy_to(const std::string& dir, std::string& why) = 0;
  // The size the map has now (grows as data does).
  virtual std::uint64_t map_size() const = 0;
  // Grows with every commit by any process sharing the store: a cheap "anything changed?"
  // hint. It may run ahead of what a read transaction begun now sees (LMDB writes the meta
  // page it reads before new readers see the commit), so a poller must record the
  // change_counter() of the snapshot it actually read, never this value.
  virtual std::uint64_t generation() = 0;
  // Called on the writer thread after each durable commit with the mailboxes its batches
  // touched (never empty). Set before the first submit; keep it short.
  using CommitHook = std::function<void(const std::vector<std::uint64_t>&)>;
  void set_commit_hook(CommitHook hook) { commit_hook_ = std::move(hook); }

 protected:
  CommitHook commit_hook_;
};

// True when some process (a running service, in this or another container) has the store
// in `path` open: replacing its files then would corrupt it.
bool in_use(const std::string& path);

// Opens (creating if needed) and migrates the schema to the current version.
// On failure returns null and sets `ec`; `why` says what went wrong.
std::unique_ptr<Store> open(const Options& options, std::error_code& ec, std::string& why);

}  // namespace mailstead::store

template <>
struct std::is_error_code_enum<mailstead::store::Errc> : std::true_type {};

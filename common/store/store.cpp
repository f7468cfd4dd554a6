// Backend-independent parts of the store contract.
#include <cstdlib>
#include <future>

#include "log/log.hpp"
#include "store/store.hpp"

namespace mailstead::store {

const char* table_name(Table t) {
  switch (t) {
    case Table::meta: return "meta";
    case Table::domains: return "domains";
    case Table::users: return "users";
    case Table::user_by_address: return "user_by_address";
    case Table::aliases: return "aliases";
    case Table::groups: return "groups";
    case Table::streams: return "streams";
    case Table::mailboxes: return "mailboxes";
    case Table::mailbox_by_name: return "mailbox_by_name";
    case Table::messages: return "messages";
    case Table::blobs: return "blobs";
    case Table::blob_refs: return "blob_refs";
    case Table::blob_cache: return "blob_cache";
    case Table::expunge_log: return "expunge_log";
    case Table::queue: return "queue";
    case Table::queue_due: return "queue_due";
    case Table::send_log: return "send_log";
    case Table::spam_training: return "spam_training";
    case Table::sieve_scripts: return "sieve_scripts";
    case Table::sieve_active: return "sieve_active";
    case Table::sieve_tracking: return "sieve_tracking";
    case Table::dkim_keys: return "dkim_keys";
    case Table::relays: return "relays";
    case Table::admins: return "admins";
    case Table::api_tokens: return "api_tokens";
    case Table::web_sessions: return "web_sessions";
    case Table::app_passwords: return "app_passwords";
    case Table::auth_limits: return "auth_limits";
    case Table::subscriptions: return "subscriptions";
    case Table::dmarc_overrides: return "dmarc_overrides";
    case Table::mta_sts: return "mta_sts";
    case Table::stream_messages: return "stream_messages";
    case Table::stream_topics: return "stream_topics";
    case Table::inbound_rules: return "inbound_rules";
    case Table::greylist: return "greylist";
    case Table::alias_by_user: return "alias_by_user";
    case Table::stream_poll: return "stream_poll";
    case Table::lists: return "lists";
    case Table::external_addresses: return "external_addresses";
    case Table::external_by_user: return "external_by_user";
    case Table::stream_forwards: return "stream_forwards";
    case Table::forward_jobs: return "forward_jobs";
    case Table::stream_watch: return "stream_watch";
    case Table::stream_notify: return "stream_notify";
    case Table::stream_replies: return "stream_replies";
    case Table::stream_reply_by_member: return "stream_reply_by_member";
    case Table::count_: break;
  }
  return "?";
}

std::string changes_key(Table t) { return std::string("changes:") + table_name(t); }

std::uint64_t ReadTxn::table_changes(Table t) {
  if (!counted_table(t)) {
    log::error("store.table_changes.uncounted", {{"table", table_name(t)}});
    std::abort();  // a caller bug: this table's changes are not counted
  }
  auto v = get(Table::meta, changes_key(t));
  if (!v || v->size() != 8) return 0;
  std::uint64_t n = 0;
  for (unsigned char c : *v) n = (n << 8) | c;
  return n;
}

namespace {
class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "mailstead.store"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "ok";
      case Errc::map_full: return "the store's map is full";
      case Errc::readers_full: return "too many concurrent readers";
      case Errc::corrupt: return "a stored value is corrupt";
      case Errc::aborted: return "the change was not applied";
      case Errc::io: return "the store failed to read or write";
      case Errc::version: return "the store was written by a newer version";
      case Errc::shutting_down: return "the store is shutting down";
      case Errc::too_large: return "a key or value is too large";
      case Errc::full: return "the store is full (no space left on its disk)";
    }
    return "unknown store error";
  }
};
}  // namespace

const std::error_category& store_category() {
  static const Category c;
  return c;
}

namespace {
thread_local std::size_t open_on_this_thread = 0;
}  // namespace

ReadTxn::ReadTxn() : open_count_(&open_on_this_thread) { ++*open_count_; }
ReadTxn::~ReadTxn() { --*open_count_; }

std::size_t transactions_open_on_this_thread() { return open_on_this_thread; }

bool no_transaction_open(const char* where) {
  if (open_on_this_thread == 0) return true;
  log::error("store.txn.across_suspension", {{"where", where}, {"open", open_on_this_thread}});
#ifndef NDEBUG
  std::abort();  // a broken invariant: find the transaction that outlives its scope
#endif
  return false;
}

bool is_temporary(std::error_code ec) {
  return ec == Errc::full || ec == Errc::map_full || ec == Errc::io || ec == Errc::readers_full ||
         ec == Errc::shutting_down;
}

std::error_code Store::commit_sync(BatchFn fn) {
  std::promise<std::error_code> done;
  auto f = done.get_future();
  submit(std::move(fn), [&done](std::error_code ec) { done.set_value(ec); });
  return f.get();
}

}  // namespace mailstead::store

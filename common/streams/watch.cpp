// Watching and notification modes in the store (tables stream_watch, stream_notify;
// docs/storage.md), and forgetting a member's reply tokens when it leaves.
#include "streams/watch.hpp"

#include <string>
#include <vector>

#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::streams {

using store::Table;

namespace {

std::string member_key(std::uint64_t stream, std::uint64_t user) {
  std::string k;
  put_be64(k, stream);
  put_be64(k, user);
  return k;
}

// Deletes every key of `t` that starts with `prefix`; for the reply index, the tokens it
// names go too.
std::error_code delete_prefix(store::WriteTxn& txn, Table t, const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> found;
  {
    auto c = txn.cursor(t);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
      found.emplace_back(std::string(c->key()), std::string(c->value()));
  }
  for (const auto& [k, v] : found) {
    txn.del(t, k);
    if (t == Table::stream_reply_by_member) txn.del(Table::stream_replies, v);
  }
  return {};
}

}  // namespace

std::error_code set_watching(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t user, std::int64_t until) {
  Encoder e;
  e.i64(until);
  return txn.put(Table::stream_watch, member_key(stream, user), e.take());
}

std::error_code stop_watching(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t user) {
  txn.del(Table::stream_watch, member_key(stream, user));
  return {};
}

std::int64_t watching_until(store::ReadTxn& txn, std::uint64_t stream, std::uint64_t user, std::int64_t now) {
  auto v = txn.get(Table::stream_watch, member_key(stream, user));
  if (!v) return 0;
  Decoder d(*v);
  auto until = d.i64();
  return d.ok() && until > now ? until : 0;
}

bool is_watching(store::ReadTxn& txn, std::uint64_t stream, std::uint64_t user, std::int64_t now) {
  return watching_until(txn, stream, user, now) != 0;
}

const char* notify_mode_name(NotifyMode m) { return m == NotifyMode::none ? "none" : "all"; }

std::optional<NotifyMode> parse_notify_mode(std::string_view s) {
  if (s == "all") return NotifyMode::all;
  if (s == "none") return NotifyMode::none;
  return std::nullopt;
}

NotifyMode notify_mode(store::ReadTxn& txn, std::uint64_t stream, std::uint64_t user) {
  auto v = txn.get(Table::stream_notify, member_key(stream, user));
  return v && v->size() == 1 && (*v)[0] == 1 ? NotifyMode::none : NotifyMode::all;
}

std::error_code set_notify_mode(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t user, NotifyMode m) {
  if (m == NotifyMode::all) {
    txn.del(Table::stream_notify, member_key(stream, user));
    return {};
  }
  return txn.put(Table::stream_notify, member_key(stream, user), std::string(1, '\1'));
}

std::error_code forget_member(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t user) {
  auto k = member_key(stream, user);
  for (auto t : {Table::stream_watch, Table::stream_notify, Table::stream_reply_by_member})
    if (auto ec = delete_prefix(txn, t, k)) return ec;
  return {};
}

std::error_code forget_stream(store::WriteTxn& txn, std::uint64_t stream) {
  std::string k;
  put_be64(k, stream);
  for (auto t : {Table::stream_watch, Table::stream_notify, Table::stream_reply_by_member})
    if (auto ec = delete_prefix(txn, t, k)) return ec;
  return {};
}

}  // namespace mailstead::streams

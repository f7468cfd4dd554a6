// Schema versions:
//   1  the first layout (docs/storage.md).
//   2  MailboxRecord gains message, unseen and byte totals, so STATUS (which Roundcube
//      sends for every folder on every page) never scans a mailbox.
//   3  IMAP subscriptions move from MailboxRecord's flag to the subscriptions table, kept
//      by name (RFC 3501 6.3.6): they outlive DELETE and may name a missing mailbox.
//   4  QueueRecord holds each recipient's state (pending/deferred/delivered/failed, next
//      attempt, last reply) and a lease; queue_due indexes the queue by next look.
//   5  Chat streams leave the local domains for the gateway domain (docs/streams.md): the
//      streams table is keyed by slug, and a StreamRecord gains an id, description,
//      members, email token, enabled flag and email posting rule; stream_messages and
//      stream_topics hold the messages.
#include "store/schema.hpp"

#include "log/log.hpp"
#include "store/mailstore.hpp"
#include "store/records.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::store::schema {

namespace {

constexpr std::string_view version_key = "schema_version";

std::error_code migrate_1_to_2(WriteTxn& txn) {
  std::vector<MailboxRecord> boxes;
  {
    auto c = txn.cursor(Table::mailboxes);
    for (bool ok = c->first(); ok; ok = c->next()) {
      auto m = MailboxRecord::decode_v1(c->value());
      if (!m) return Errc::corrupt;
      boxes.push_back(std::move(*m));
    }
  }
  for (auto& m : boxes) {
    m.messages = m.unseen = 0;
    m.bytes = 0;
    auto c = txn.cursor(Table::messages);
    auto prefix = key_u64(m.id);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) {
      auto msg = MessageRecord::decode(c->value());
      if (!msg) return Errc::corrupt;
      ++m.messages;
      if (!(msg->flags & flag_seen)) ++m.unseen;
      m.bytes += msg->size;
    }
    if (auto ec = txn.put(Table::mailboxes, key_u64(m.id), m.encode())) return ec;
  }
  log::info("store.migrated", {{"from", 1}, {"to", 2}, {"mailboxes", boxes.size()}});
  return {};
}

std::error_code migrate_2_to_3(WriteTxn& txn) {
  std::vector<MailboxRecord> boxes;
  {
    auto c = txn.cursor(Table::mailboxes);
    for (bool ok = c->first(); ok; ok = c->next()) {
      auto m = MailboxRecord::decode(c->value());
      if (!m) return Errc::corrupt;
      if (m->subscribed) boxes.push_back(std::move(*m));
    }
  }
  for (const auto& m : boxes)
    if (auto ec = txn.put(Table::subscriptions, key_u64_str(m.owner, m.name), "")) return ec;
  log::info("store.migrated", {{"from", 2}, {"to", 3}, {"subscriptions", boxes.size()}});
  return {};
}

std::error_code migrate_3_to_4(WriteTxn& txn) {
  std::vector<QueueRecord> queued;
  {
    auto c = txn.cursor(Table::queue);
    for (bool ok = c->first(); ok; ok = c->next()) {
      auto q = QueueRecord::decode_v2(c->value());
      if (!q) return Errc::corrupt;
      queued.push_back(std::move(*q));
    }
  }
  // Entries older than the queue lifetime stay: the delivery service bounces them rather
  // than sending them late (docs/delivery.md).
  for (auto& q : queued) {
    if (q.sender.empty()) q.flags |= queue_bounce;
    q.due = 0;
    if (auto ec = put_queued(txn, q)) return ec;
  }
  log::info("store.migrated", {{"from", 3}, {"to", 4}, {"queued", queued.size()}});
  return {};
}

// A version-4 stream was a local address and a name; it becomes a stream whose slug is the
// address's local part (made unique), with a new token, enabled, anyone may post.
std::error_code migrate_4_to_5(WriteTxn& txn) {
  struct Old {
    std::string key, address, name;
    std::int64_t created = 0;
  };
  std::vector<Old> old;
  {
    auto c = txn.cursor(Table::streams);
    for (bool ok = c->first(); ok; ok = c->next()) {
      Decoder d(c->value());
      Old o;
      o.key = std::string(c->key());
      o.address = std::string(d.str());
      o.name = std::string(d.str());
      o.created = d.i64();
      if (!d.ok()) return Errc::corrupt;
      old.push_back(std::move(o));
    }
  }
  for (const auto& o : old) txn.del(Table::streams, o.key);
  for (const auto& o : old) {
    auto local = o.address.substr(0, o.address.find('@'));
    std::string base;
    for (char ch : local) base.push_back((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ? ch : '-');
    if (base.empty() || base.size() > 56) base = "stream";
    auto slug = base;
    for (int n = 2; txn.get(Table::streams, slug); ++n) slug = base + "-" + std::to_string(n);
    directory::StreamRecord s;
    s.id = next_id(txn, "stream");
    s.slug = slug;
    s.name = o.name.empty() ? slug : o.name;
    s.description = "(was " + o.address + ")";
    s.token = directory::new_stream_token();
    s.created = o.created;
    if (auto ec = txn.put(Table::streams, s.slug, directory::encode_stream(s))) return ec;
  }
  log::info("store.migrated", {{"from", 4}, {"to", 5}, {"streams", old.size()}});
  return {};
}

using Migration = std::error_code (*)(WriteTxn&);
// migrations[n - 1] takes the store from version n to n + 1.
constexpr Migration migrations[] = {migrate_1_to_2, migrate_2_to_3, migrate_3_to_4, migrate_4_to_5};
static_assert(std::size(migrations) == current_version - 1);

}  // namespace

std::uint32_t version(ReadTxn& txn) {
  auto v = txn.get(Table::meta, version_key);
  return v && v->size() == 4 ? get_be32(*v) : 0;
}

std::error_code set_version(WriteTxn& txn, std::uint32_t v) {
  std::string bytes;
  put_be32(bytes, v);
  return txn.put(Table::meta, version_key, bytes);
}

std::error_code migrate(WriteTxn& txn, std::string& why) {
  auto v = version(txn);
  if (v == 0) return set_version(txn, current_version);
  if (v > current_version) {
    why = "the store has schema version " + std::to_string(v) + " but this program knows only up to " +
          std::to_string(current_version) + "; run a newer Mailstead";
    return Errc::version;
  }
  for (; v < current_version; ++v) {
    if (auto ec = migrations[v - 1](txn)) {
      why = "migrating the store from version " + std::to_string(v) + " failed: " + ec.message();
      return ec;
    }
  }
  return set_version(txn, current_version);
}

}  // namespace mailstead::store::schema

// Mailbox, message, blob and queue operations (docs/storage.md).
#include "store/mailstore.hpp"

#include <sodium.h>

#include <algorithm>
#include <ctime>

#include "store/store.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::store {

namespace {
Error from_ec(std::error_code ec) { return internal("store: " + ec.message()); }
}  // namespace

std::uint64_t next_id(WriteTxn& txn, std::string_view counter) {
  std::string key = "next:";
  key.append(counter);
  std::uint64_t n = 1;
  if (auto v = txn.get(Table::meta, key); v && v->size() == 8) n = get_be64(*v);
  txn.put(Table::meta, key, key_u64(n + 1));
  return n;
}

std::string blob_key(std::string_view bytes) {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  return out;
}

const std::vector<DefaultMailbox>& default_mailboxes() {
  static const std::vector<DefaultMailbox> boxes{
      {"INBOX", ""},          {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"},
      {"Trash", "\\Trash"},   {"Spam", "\\Junk"}, {"Archive", "\\Archive"},
  };
  return boxes;
}

Result<std::uint64_t> create_mailbox(WriteTxn& txn, std::uint64_t owner, std::string_view name,
                                     std::string_view special_use, bool subscribed) {
  auto name_key = key_u64_str(owner, name);
  if (txn.get(Table::mailbox_by_name, name_key)) return conflict("mailbox already exists");
  MailboxRecord m;
  m.id = next_id(txn, "mailbox");
  m.owner = owner;
  m.name = std::string(name);
  m.special_use = std::string(special_use);
  m.subscribed = subscribed;
  // UIDVALIDITY must change whenever a name is reused (RFC 3501 2.3.1.1): a counter
  // seeded from the clock gives every mailbox ever created a distinct, growing value.
  std::uint64_t seed = next_id(txn, "uidvalidity");
  if (seed == 1) {
    seed = static_cast<std::uint64_t>(std::time(nullptr));
    txn.put(Table::meta, "next:uidvalidity", key_u64(seed + 1));
  }
  m.uidvalidity = static_cast<std::uint32_t>(seed);
  if (auto ec = txn.put(Table::mailboxes, key_u64(m.id), m.encode())) return from_ec(ec);
  if (auto ec = txn.put(Table::mailbox_by_name, name_key, key_u64(m.id))) return from_ec(ec);
  if (subscribed)
    if (auto ec = set_subscription(txn, owner, name, true)) return from_ec(ec);
  return m.id;
}

std::optional<MailboxRecord> get_mailbox(ReadTxn& txn, std::uint64_t id) {
  auto v = txn.get(Table::mailboxes, key_u64(id));
  if (!v) return std::nullopt;
  return MailboxRecord::decode(*v);
}

std::optional<MailboxRecord> find_mailbox(ReadTxn& txn, std::uint64_t owner, std::string_view name) {
  auto v = txn.get(Table::mailbox_by_name, key_u64_str(owner, name));
  if (!v || v->size() != 8) return std::nullopt;
  return get_mailbox(txn, get_be64(*v));
}

std::vector<MailboxRecord> list_mailboxes(ReadTxn& txn, std::uint64_t owner) {
  std::vector<MailboxRecord> out;
  auto prefix = key_u64(owner);
  auto c = txn.cursor(Table::mailbox_by_name);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    if (c->value().size() == 8)
      if (auto m = get_mailbox(txn, get_be64(c->value()))) out.push_back(std::move(*m));
  for (auto& m : out) m.subscribed = is_subscribed(txn, owner, m.name);
  // Name order, INBOX first (as clients list it).
  std::stable_partition(out.begin(), out.end(), [](const MailboxRecord& m) { return m.name == "INBOX"; });
  return out;
}

std::error_code delete_mailbox(WriteTxn& txn, std::uint64_t id) {
  txn.touch(id);
  auto m = get_mailbox(txn, id);
  if (!m) return {};
  std::vector<std::uint32_t> uids;
  {
    auto prefix = key_u64(id);
    auto c = txn.cursor(Table::messages);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
      uids.push_back(get_be32(c->key().substr(8)));
  }
  for (auto uid : uids)
    if (auto ec = expunge(txn, id, uid)) return ec;
  {
    // The expunge log of a deleted mailbox is meaningless: its UIDVALIDITY is gone.
    std::vector<std::string> keys;
    auto prefix = key_u64(id);
    auto c = txn.cursor(Table::expunge_log);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
      keys.emplace_back(c->key());
    for (const auto& k : keys) txn.del(Table::expunge_log, k);
  }
  txn.del(Table::mailbox_by_name, key_u64_str(m->owner, m->name));
  txn.del(Table::mailboxes, key_u64(id));
  return {};
}

std::error_code put_blob(WriteTxn& txn, std::string_view key, std::string_view bytes) {
  if (txn.get(Table::blob_refs, key)) return {};
  BlobRef ref{0, bytes.size()};
  if (auto ec = txn.put(Table::blobs, key, bytes)) return ec;
  return txn.put(Table::blob_refs, key, ref.encode());
}

std::optional<std::string_view> get_blob(ReadTxn& txn, std::string_view key) {
  return txn.get(Table::blobs, key);
}

std::optional<BlobRef> get_blob_ref(ReadTxn& txn, std::string_view key) {
  auto v = txn.get(Table::blob_refs, key);
  if (!v) return std::nullopt;
  return BlobRef::decode(*v);
}

std::error_code drop_unreferenced_blob(WriteTxn& txn, std::string_view key) {
  auto ref = get_blob_ref(txn, key);
  if (!ref || ref->refs > 0) return {};
  txn.del(Table::blob_refs, key);
  txn.del(Table::blobs, key);
  txn.del(Table::blob_cache, key);
  return {};
}

Result<Appended> append(WriteTxn& txn, std::uint64_t mailbox_id, MessageRecord msg) {
  txn.touch(mailbox_id);
  auto m = get_mailbox(txn, mailbox_id);
  if (!m) return not_found("no such mailbox");
  auto ref = get_blob_ref(txn, msg.blob);
  if (!ref) return internal("append: the message's blob is not stored");
  if (m->uidnext == UINT32_MAX) return invalid("mailbox has used every UID; recreate it");
  ++ref->refs;
  Appended a{m->uidnext, m->highestmodseq + 1};
  msg.modseq = a.modseq;
  msg.size = msg.prefix.size() + ref->size;
  m->uidnext = a.uid + 1;
  m->highestmodseq = a.modseq;
  ++m->messages;
  if (!(msg.flags & flag_seen)) ++m->unseen;
  m->bytes += msg.size;
  if (auto ec = txn.put(Table::blob_refs, msg.blob, ref->encode())) return from_ec(ec);
  if (auto ec = txn.put(Table::messages, key_u64_u32(mailbox_id, a.uid), msg.encode())) return from_ec(ec);
  if (auto ec = txn.put(Table::mailboxes, key_u64(mailbox_id), m->encode())) return from_ec(ec);
  return a;
}

std::optional<MessageRecord> get_message(ReadTxn& txn, std::uint64_t mailbox_id, std::uint32_t uid) {
  auto v = txn.get(Table::messages, key_u64_u32(mailbox_id, uid));
  if (!v) return std::nullopt;
  return MessageRecord::decode(*v);
}

Result<void> set_flags(WriteTxn& txn, std::uint64_t mailbox_id, std::vector<FlagChange>& changes) {
  txn.touch(mailbox_id);
  auto m = get_mailbox(txn, mailbox_id);
  if (!m) return not_found("no such mailbox");
  for (auto& ch : changes) {
    ch.modseq = 0;
    auto key = key_u64_u32(mailbox_id, ch.uid);
    auto msg = get_message(txn, mailbox_id, ch.uid);
    if (!msg) continue;
    bool was_unseen = !(msg->flags & flag_seen), now_unseen = !(ch.flags & flag_seen);
    if (was_unseen && !now_unseen) --m->unseen;
    if (!was_unseen && now_unseen) ++m->unseen;
    m->highestmodseq += 1;
    msg->modseq = m->highestmodseq;
    msg->flags = ch.flags;
    msg->keywords = ch.keywords;
    if (auto ec = txn.put(Table::messages, key, msg->encode())) return from_ec(ec);
    ch.modseq = msg->modseq;
  }
  if (auto ec = txn.put(Table::mailboxes, key_u64(mailbox_id), m->encode())) return from_ec(ec);
  return {};
}

void apply(const FlagUpdate& u, std::uint32_t& flags, std::vector<std::string>& keywords) {
  auto listed = [&](std::string_view k) {
    return std::any_of(u.keywords.begin(), u.keywords.end(), [&](const std::string& w) { return iequals(k, w); });
  };
  switch (u.op) {
    case FlagOp::replace:
      flags = u.flags;
      keywords.clear();
      [[fallthrough]];
    case FlagOp::add:
      if (u.op == FlagOp::add) flags |= u.flags;
      for (const auto& w : u.keywords)
        if (std::none_of(keywords.begin(), keywords.end(), [&](const std::string& k) { return iequals(k, w); }))
          keywords.push_back(w);
      break;
    case FlagOp::remove:
      flags &= ~u.flags;
      std::erase_if(keywords, [&](const std::string& k) { return listed(k); });
      break;
  }
}

Result<std::vector<FlagOutcome>> update_flags(WriteTxn& txn, std::uint64_t mailbox_id,
                                              const std::vector<std::uint32_t>& uids, const FlagUpdate& u) {
  auto m = get_mailbox(txn, mailbox_id);
  if (!m) return not_found("no such mailbox");
  std::vector<FlagOutcome> out(uids.size());
  bool any = false;
  for (std::size_t i = 0; i < uids.size(); ++i) {
    auto& o = out[i];
    auto msg = get_message(txn, mailbox_id, uids[i]);
    if (!msg) continue;  // gone
    o.flags = msg->flags;
    o.keywords = msg->keywords;
    o.modseq = msg->modseq;
    if (u.unchanged_since && msg->modseq > *u.unchanged_since) {
      o.kind = FlagOutcome::Kind::modified;
      continue;
    }
    apply(u, o.flags, o.keywords);
    if (o.flags == msg->flags && o.keywords == msg->keywords) {
      o.kind = FlagOutcome::Kind::unchanged;
      continue;
    }
    bool was_unseen = !(msg->flags & flag_seen), now_unseen = !(o.flags & flag_seen);
    if (was_unseen && !now_unseen) --m->unseen;
    if (!was_unseen && now_unseen) ++m->unseen;
    m->highestmodseq += 1;
    msg->modseq = o.modseq = m->highestmodseq;
    msg->flags = o.flags;
    msg->keywords = o.keywords;
    if (auto ec = txn.put(Table::messages, key_u64_u32(mailbox_id, uids[i]), msg->encode())) return from_ec(ec);
    o.kind = FlagOutcome::Kind::changed;
    any = true;
  }
  if (any) {
    txn.touch(mailbox_id);
    if (auto ec = txn.put(Table::mailboxes, key_u64(mailbox_id), m->encode())) return from_ec(ec);
  }
  return out;
}

Result<std::uint64_t> set_flags(WriteTxn& txn, std::uint64_t mailbox_id, std::uint32_t uid, std::uint32_t flags,
                                std::vector<std::string> keywords) {
  std::vector<FlagChange> one{FlagChange{uid, flags, std::move(keywords), 0}};
  if (auto r = set_flags(txn, mailbox_id, one); !r) return r.error();
  if (!one[0].modseq) return not_found("no such message");
  return one[0].modseq;
}

Result<void> rename_mailbox(WriteTxn& txn, std::uint64_t id, std::string_view new_name) {
  txn.touch(id);
  auto m = get_mailbox(txn, id);
  if (!m) return not_found("no such mailbox");
  auto new_key = key_u64_str(m->owner, new_name);
  if (txn.get(Table::mailbox_by_name, new_key)) return conflict("mailbox already exists");
  txn.del(Table::mailbox_by_name, key_u64_str(m->owner, m->name));
  m->name = std::string(new_name);
  if (auto ec = txn.put(Table::mailbox_by_name, new_key, key_u64(id))) return from_ec(ec);
  if (auto ec = txn.put(Table::mailboxes, key_u64(id), m->encode())) return from_ec(ec);
  return {};
}

std::error_code set_subscription(WriteTxn& txn, std::uint64_t owner, std::string_view name, bool subscribed) {
  auto key = key_u64_str(owner, name);
  if (!subscribed) {
    txn.del(Table::subscriptions, key);
    return {};
  }
  return txn.put(Table::subscriptions, key, "");
}

std::vector<std::string> subscriptions(ReadTxn& txn, std::uint64_t owner) {
  std::vector<std::string> out;
  auto prefix = key_u64(owner);
  auto c = txn.cursor(Table::subscriptions);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    out.emplace_back(c->key().substr(8));
  return out;
}

bool is_subscribed(ReadTxn& txn, std::uint64_t owner, std::string_view name) {
  return txn.get(Table::subscriptions, key_u64_str(owner, name)).has_value();
}

std::error_code record_spam_move(WriteTxn& txn, std::uint64_t user, std::string_view blob, bool into_spam,
                                 std::int64_t when) {
  Encoder e;
  e.u64(user).str(blob).u8(into_spam ? 1 : 0).i64(when);
  return txn.put(Table::spam_training, key_u64(next_id(txn, "spam_training")), e.take());
}

std::error_code expunge(WriteTxn& txn, std::uint64_t mailbox_id, std::uint32_t uid) {
  txn.touch(mailbox_id);
  auto m = get_mailbox(txn, mailbox_id);
  auto msg = get_message(txn, mailbox_id, uid);
  if (!m || !msg) return Errc::corrupt;
  m->highestmodseq += 1;
  --m->messages;
  if (!(msg->flags & flag_seen)) --m->unseen;
  m->bytes -= msg->size;
  std::string uid_bytes;
  put_be32(uid_bytes, uid);
  if (auto ec = txn.put(Table::expunge_log, key_u64_u64(mailbox_id, m->highestmodseq), uid_bytes)) return ec;
  txn.del(Table::messages, key_u64_u32(mailbox_id, uid));
  if (auto ec = txn.put(Table::mailboxes, key_u64(mailbox_id), m->encode())) return ec;
  auto ref = get_blob_ref(txn, msg->blob);
  if (!ref) return Errc::corrupt;
  if (ref->refs <= 1) {
    txn.del(Table::blob_refs, msg->blob);
    txn.del(Table::blobs, msg->blob);
    txn.del(Table::blob_cache, msg->blob);
    return {};
  }
  --ref->refs;
  return txn.put(Table::blob_refs, msg->blob, ref->encode());
}

std::string queue_due_key(std::int64_t due, std::uint64_t id) {
  return key_u64_u64(static_cast<std::uint64_t>(std::max<std::int64_t>(due, 0)), id);
}

std::error_code unref_blob(WriteTxn& txn, std::string_view key) {
  auto ref = get_blob_ref(txn, key);
  if (!ref) return Errc::corrupt;
  if (ref->refs <= 1) {
    txn.del(Table::blob_refs, key);
    txn.del(Table::blobs, key);
    txn.del(Table::blob_cache, key);
    return {};
  }
  --ref->refs;
  return txn.put(Table::blob_refs, key, ref->encode());
}

std::optional<QueueRecord> get_queued(ReadTxn& txn, std::uint64_t id) {
  auto v = txn.get(Table::queue, key_u64(id));
  return v ? QueueRecord::decode(*v) : std::nullopt;
}

std::error_code put_queued(WriteTxn& txn, QueueRecord& rec) {
  std::int64_t due = 0;
  if (rec.lease_until > 0) {
    due = rec.lease_until;
  } else {
    for (const auto& r : rec.states)
      if (!r.final() && (due == 0 || r.next_attempt < due)) due = std::max<std::int64_t>(r.next_attempt, 1);
  }
  if (auto old = get_queued(txn, rec.id); old && old->due != 0 && old->due != due)
    txn.del(Table::queue_due, queue_due_key(old->due, rec.id));
  rec.due = due;
  if (due != 0)
    if (auto ec = txn.put(Table::queue_due, queue_due_key(due, rec.id), "")) return ec;
  return txn.put(Table::queue, key_u64(rec.id), rec.encode());
}

std::error_code remove_queued(WriteTxn& txn, std::uint64_t id) {
  auto rec = get_queued(txn, id);
  if (!rec) return Errc::corrupt;
  if (rec->due != 0) txn.del(Table::queue_due, queue_due_key(rec->due, id));
  txn.del(Table::queue, key_u64(id));
  return unref_blob(txn, rec->blob);
}

Result<std::uint64_t> enqueue(WriteTxn& txn, QueueRecord rec) {
  auto ref = get_blob_ref(txn, rec.blob);
  if (!ref) return internal("enqueue: the message's blob is not stored");
  rec.id = next_id(txn, "queue");
  ++ref->refs;
  if (auto ec = txn.put(Table::blob_refs, rec.blob, ref->encode())) return from_ec(ec);
  if (rec.states.empty()) {
    for (const auto& a : rec.recipients) {
      QueueRecipient r;
      r.address = a;
      r.next_attempt = rec.next_attempt ? rec.next_attempt : rec.created;
      rec.states.push_back(std::move(r));
    }
  }
  // The null sender marks a bounce or an auto-reply: it never causes a DSN (RFC 3834 3.3,
  // RFC 5321 6.1).
  if (rec.sender.empty()) rec.flags |= queue_bounce;
  rec.due = 0;
  if (auto ec = put_queued(txn, rec)) return from_ec(ec);
  return rec.id;
}

}  // namespace mailstead::store

// The outbound queue's rules (see queue.hpp and docs/delivery.md).
#include "queue/queue.hpp"

#include <sodium.h>

#include <algorithm>

#include "log/log.hpp"
#include "queue/dsn.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::queue {

using store::QueueRecord;
using store::RecipientState;
using store::Table;

std::int64_t backoff(const Policy& p, std::uint32_t attempts) {
  std::int64_t d = std::max<std::int64_t>(p.retry_base, 1);
  for (std::uint32_t i = 1; i < attempts && d < p.retry_max; ++i) d *= 2;
  return std::min(d, std::max<std::int64_t>(p.retry_max, 1));
}

const char* result_name(Result r) {
  switch (r) {
    case Result::delivered: return "delivered";
    case Result::deferred: return "deferred";
    case Result::failed: return "failed";
  }
  return "?";
}

std::vector<QueueRecord> claim(store::WriteTxn& txn, std::int64_t now, std::string_view owner, const Policy& policy,
                               std::size_t max) {
  std::vector<std::uint64_t> ids;
  {
    auto c = txn.cursor(Table::queue_due);
    for (bool ok = c->first(); ok && ids.size() < max; ok = c->next()) {
      auto k = c->key();
      if (k.size() != 16) continue;
      if (static_cast<std::int64_t>(get_be64(k)) > now) break;
      ids.push_back(get_be64(k.substr(8)));
    }
  }
  std::vector<QueueRecord> out;
  for (auto id : ids) {
    auto rec = store::get_queued(txn, id);
    if (!rec) {
      // An index entry without its record: drop it rather than look at it forever.
      auto c = txn.cursor(Table::queue_due);
      for (bool ok = c->first(); ok; ok = c->next())
        if (c->key().size() == 16 && get_be64(c->key().substr(8)) == id) {
          std::string k(c->key());
          txn.del(Table::queue_due, k);
          break;
        }
      continue;
    }
    if (rec->lease_until > now && rec->lease_owner != owner) continue;
    rec->lease_owner = std::string(owner);
    rec->lease_until = now + policy.lease;
    if (store::put_queued(txn, *rec)) continue;
    out.push_back(std::move(*rec));
  }
  return out;
}

std::vector<QueueRecord> claim_ids(store::WriteTxn& txn, const std::vector<std::uint64_t>& ids, std::int64_t now,
                                   std::string_view owner, const Policy& policy) {
  std::vector<QueueRecord> out;
  for (auto id : ids) {
    auto rec = store::get_queued(txn, id);
    if (!rec || (rec->lease_until > now && rec->lease_owner != owner)) continue;
    for (auto& r : rec->states)
      if (!r.final()) r.next_attempt = std::min(r.next_attempt, now);
    rec->lease_owner = std::string(owner);
    rec->lease_until = now + policy.lease;
    if (store::put_queued(txn, *rec)) continue;
    out.push_back(std::move(*rec));
  }
  return out;
}

std::error_code renew(store::WriteTxn& txn, const std::vector<std::uint64_t>& ids, std::string_view owner,
                      std::int64_t lease_until) {
  for (auto id : ids) {
    auto rec = store::get_queued(txn, id);
    if (!rec || rec->lease_owner != owner) continue;
    rec->lease_until = lease_until;
    if (auto ec = store::put_queued(txn, *rec)) return ec;
  }
  return {};
}

namespace {

std::string dsn_message_id(const Policy& p) {
  unsigned char r[12];
  randombytes_buf(r, sizeof r);
  static const char hex[] = "0123456789abcdef";
  std::string id = "<dsn.";
  for (auto b : r) id.push_back(hex[b >> 4]), id.push_back(hex[b & 15]);
  return id + "@" + p.hostname + ">";
}

// Queues a DSN about `rcpts` of `rec` to its sender. Returns its id (0: none sent).
std::uint64_t queue_dsn(store::WriteTxn& txn, const QueueRecord& rec, const std::vector<DsnRecipient>& rcpts,
                        std::int64_t now, const Policy& policy) {
  if (rcpts.empty() || rec.sender.empty() || (rec.flags & store::queue_bounce)) return 0;
  auto bytes = store::get_blob(txn, rec.blob);
  DsnInput in;
  in.hostname = policy.hostname;
  in.to = rec.sender;
  in.original = rec.prefix + std::string(bytes ? *bytes : std::string_view());
  in.arrival = rec.created;
  in.now = now;
  in.message_id = dsn_message_id(policy);
  in.recipients = rcpts;
  auto dsn = build_dsn(in);
  auto key = store::blob_key(dsn);
  if (store::put_blob(txn, key, dsn)) return 0;
  QueueRecord q;
  q.sender = "";
  q.recipients = {rec.sender};
  q.blob = key;
  q.created = now;
  q.next_attempt = now;
  q.flags = store::queue_bounce;
  auto id = store::enqueue(txn, std::move(q));
  return id ? *id : 0;
}

}  // namespace

std::error_code settle(store::WriteTxn& txn, std::uint64_t id, std::string_view owner,
                       const std::vector<Outcome>& outcomes, std::int64_t now, const Policy& policy, Settled* out,
                       bool keep_lease, std::string_view security) {
  auto rec = store::get_queued(txn, id);
  if (!rec) return {};  // removed meanwhile (queue delete)
  bool attempted = false;
  std::vector<DsnRecipient> failed, delayed;
  for (const auto& o : outcomes) {
    for (auto& r : rec->states) {
      if (r.address != o.address || r.final()) continue;
      attempted = true;
      r.attempts += 1;
      r.last_attempt = now;
      r.last_reply = o.reply;
      r.remote = o.remote;
      switch (o.result) {
        case Result::delivered: r.state = RecipientState::delivered; break;
        case Result::failed:
          r.state = RecipientState::failed;
          failed.push_back({r.address, "failed", status_of(r.last_reply), r.last_reply, r.remote, r.last_attempt, 0});
          break;
        case Result::deferred:
          r.state = RecipientState::deferred;
          r.next_attempt = now + backoff(policy, r.attempts);
          break;
      }
      LogEntry e{now, id, rec->sender, r.address, o.remote, o.tls, o.reply, o.result, std::string(security)};
      if (auto ec = append_log(txn, e)) return ec;
      log::info("delivery.attempt", {{"id", id}, {"from", rec->sender}, {"to", r.address}, {"result", result_name(o.result)},
                                     {"remote", o.remote}, {"tls", o.tls}, {"security", security}, {"reply", o.reply}});
      break;
    }
  }
  if (attempted) rec->attempts += 1;

  // Past the lifetime nothing is sent late: what is still waiting fails (RFC 5321 4.5.4.1).
  for (auto& r : rec->states) {
    if (r.final()) continue;
    bool expired = now >= rec->created + policy.lifetime;
    if (expired && !keep_lease) {
      r.state = RecipientState::failed;
      std::string why = "delivery time expired (the message waited longer than the queue lifetime)";
      r.last_reply = r.last_reply.empty() ? why : why + "; last reply: " + r.last_reply;
      failed.push_back({r.address, "failed", "4.4.7", r.last_reply, r.remote, r.last_attempt, 0});
      LogEntry e{now, id, rec->sender, r.address, r.remote, "", r.last_reply, Result::failed, ""};
      if (auto ec = append_log(txn, e)) return ec;
    }
  }
  if (policy.delay_warning > 0 && !(rec->flags & store::queue_warned) && now >= rec->created + policy.delay_warning) {
    for (const auto& r : rec->states)
      if (r.state == RecipientState::deferred)
        delayed.push_back({r.address, "delayed", status_of(r.last_reply), r.last_reply, r.remote, r.last_attempt,
                           rec->created + policy.lifetime});
    if (!delayed.empty()) rec->flags |= store::queue_warned;
  }
  Settled result;
  result.dsn_id = queue_dsn(txn, *rec, failed, now, policy);
  if (!delayed.empty()) queue_dsn(txn, *rec, delayed, now, policy);
  if (!keep_lease && (rec->lease_owner == owner || rec->lease_until <= now)) {
    rec->lease_owner.clear();
    rec->lease_until = 0;
  }
  bool all_final = std::all_of(rec->states.begin(), rec->states.end(), [](const auto& r) { return r.final(); });
  if (all_final) {
    result.finished = true;
    if (auto ec = store::remove_queued(txn, id)) return ec;
  } else if (auto ec = store::put_queued(txn, *rec)) {
    return ec;
  }
  if (out) *out = result;
  return {};
}

std::vector<QueueRecord> list(store::ReadTxn& txn) {
  std::vector<QueueRecord> out;
  auto c = txn.cursor(Table::queue);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto q = QueueRecord::decode(c->value())) out.push_back(std::move(*q));
  return out;
}

std::error_code retry_now(store::WriteTxn& txn, std::uint64_t id, std::int64_t now) {
  auto rec = store::get_queued(txn, id);
  if (!rec) return store::Errc::corrupt;
  for (auto& r : rec->states)
    if (!r.final()) r.next_attempt = now;
  rec->lease_owner.clear();
  rec->lease_until = 0;
  return store::put_queued(txn, *rec);
}

std::error_code remove(store::WriteTxn& txn, std::uint64_t id) { return store::remove_queued(txn, id); }

std::string LogEntry::encode() const {
  Encoder e;
  e.i64(time).u64(queue_id).str(sender).str(recipient).str(remote).str(tls).str(reply).u8(static_cast<std::uint8_t>(result));
  e.str(security);
  return e.take();
}

std::optional<LogEntry> LogEntry::decode(std::string_view v) {
  Decoder d(v);
  LogEntry e;
  e.time = d.i64();
  e.queue_id = d.u64();
  e.sender = d.str();
  e.recipient = d.str();
  e.remote = d.str();
  e.tls = d.str();
  e.reply = d.str();
  auto r = d.u8();
  if (!d.at_end()) e.security = d.str();  // absent in entries written before MTA-STS and DANE
  if (!d.ok() || !d.at_end() || r > 2) return std::nullopt;
  e.result = static_cast<Result>(r);
  return e;
}

std::error_code append_log(store::WriteTxn& txn, const LogEntry& e) {
  auto seq = store::next_id(txn, "send_log");
  return txn.put(Table::send_log, key_u64_u64(static_cast<std::uint64_t>(std::max<std::int64_t>(e.time, 0)), seq),
                 e.encode());
}

std::vector<LogEntry> read_log(store::ReadTxn& txn, std::int64_t since, std::size_t max) {
  std::vector<LogEntry> out;
  auto c = txn.cursor(Table::send_log);
  for (bool ok = c->seek(key_u64(static_cast<std::uint64_t>(std::max<std::int64_t>(since, 0)))); ok && out.size() < max;
       ok = c->next())
    if (auto e = LogEntry::decode(c->value())) out.push_back(std::move(*e));
  return out;
}

std::size_t prune_log(store::WriteTxn& txn, std::int64_t before, std::size_t max) {
  std::vector<std::string> keys;
  {
    auto c = txn.cursor(Table::send_log);
    for (bool ok = c->first(); ok && keys.size() < max; ok = c->next()) {
      if (c->key().size() < 8 || static_cast<std::int64_t>(get_be64(c->key())) >= before) break;
      keys.emplace_back(c->key());
    }
  }
  for (const auto& k : keys) txn.del(Table::send_log, k);
  return keys.size();
}

}  // namespace mailstead::queue

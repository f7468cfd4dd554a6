// Spam-training records: codec and the lease rules (see training.hpp).
#include "spam/training.hpp"

#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::spam {

std::optional<TrainingRecord> decode_training(std::uint64_t id, std::string_view value) {
  Decoder d(value);
  TrainingRecord r;
  r.id = id;
  r.user = d.u64();
  r.blob = std::string(d.str());
  r.spam = d.u8() != 0;
  r.time = d.i64();
  if (d.ok() && !d.at_end()) {
    r.owner = std::string(d.str());
    r.lease_until = d.i64();
    r.attempts = d.u32();
    r.next_attempt = d.i64();
  }
  if (!d.ok()) return std::nullopt;
  return r;
}

std::string encode_training(const TrainingRecord& r) {
  Encoder e;
  e.u64(r.user).str(r.blob).u8(r.spam ? 1 : 0).i64(r.time);
  e.str(r.owner).i64(r.lease_until).u32(r.attempts).i64(r.next_attempt);
  return e.take();
}

std::vector<TrainingRecord> claim_training(store::WriteTxn& txn, std::int64_t now, std::string_view owner,
                                           std::int64_t lease, std::size_t max) {
  std::vector<TrainingRecord> out;
  std::vector<std::pair<std::string, std::string>> writes;
  auto c = txn.cursor(store::Table::spam_training);
  // In id order (oldest move first); a bounded look per claim keeps the write short.
  std::size_t looked = 0;
  for (bool ok = c->first(); ok && out.size() < max && looked < 4096; ok = c->next(), ++looked) {
    if (c->key().size() != 8) continue;
    auto r = decode_training(get_be64(c->key()), c->value());
    if (!r) continue;  // undecodable: left for an operator (logged by the caller's count)
    if (r->next_attempt > now) continue;
    if (!r->owner.empty() && r->owner != owner && r->lease_until > now) continue;  // another worker's
    r->owner = std::string(owner);
    r->lease_until = now + lease;
    writes.emplace_back(std::string(c->key()), encode_training(*r));
    out.push_back(std::move(*r));
  }
  c.reset();
  for (const auto& [k, v] : writes)
    if (txn.put(store::Table::spam_training, k, v)) return {};
  return out;
}

namespace {
std::optional<TrainingRecord> ours(store::WriteTxn& txn, std::uint64_t id, std::string_view owner) {
  auto v = txn.get(store::Table::spam_training, key_u64(id));
  if (!v) return std::nullopt;
  auto r = decode_training(id, *v);
  if (!r || r->owner != owner) return std::nullopt;
  return r;
}
}  // namespace

std::error_code finish_training(store::WriteTxn& txn, std::uint64_t id, std::string_view owner) {
  if (ours(txn, id, owner)) txn.del(store::Table::spam_training, key_u64(id));
  return {};
}

std::error_code retry_training(store::WriteTxn& txn, std::uint64_t id, std::string_view owner, std::int64_t next) {
  auto r = ours(txn, id, owner);
  if (!r) return {};
  r->owner.clear();
  r->lease_until = 0;
  ++r->attempts;
  r->next_attempt = next;
  return txn.put(store::Table::spam_training, key_u64(id), encode_training(*r));
}

}  // namespace mailstead::spam

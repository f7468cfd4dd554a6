// The spam-training records (table spam_training, docs/storage.md) as the learning worker
// consumes them: imapd writes one per message moved into or out of Junk; a worker claims
// due records with a lease (as deliverd claims queue records), teaches spamd, and removes
// each only once spamd confirmed; a failure is retried later with back-off. Several
// workers on one store never teach the same record at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mailstead::store {
class WriteTxn;
}

namespace mailstead::spam {

struct TrainingRecord {
  std::uint64_t id = 0;
  std::uint64_t user = 0;
  std::string blob;   // content hash of the message
  bool spam = false;  // moved into Junk (spam) or out of it (ham)
  std::int64_t time = 0;
  // Added by the worker (absent in a record imapd just wrote):
  std::string owner;              // who holds the lease
  std::int64_t lease_until = 0;   // the lease ends (seconds)
  std::uint32_t attempts = 0;     // failed attempts so far
  std::int64_t next_attempt = 0;  // not before (seconds)
};

std::optional<TrainingRecord> decode_training(std::uint64_t id, std::string_view value);
std::string encode_training(const TrainingRecord& r);

// Claims up to `max` records due at `now` that no other owner holds, until now + lease.
std::vector<TrainingRecord> claim_training(store::WriteTxn& txn, std::int64_t now, std::string_view owner,
                                           std::int64_t lease, std::size_t max);
// spamd confirmed: the record goes (if the lease is still ours).
std::error_code finish_training(store::WriteTxn& txn, std::uint64_t id, std::string_view owner);
// Failed: tried again at `next` (the lease ends); false when the record is not ours anymore.
std::error_code retry_training(store::WriteTxn& txn, std::uint64_t id, std::string_view owner, std::int64_t next);

}  // namespace mailstead::spam

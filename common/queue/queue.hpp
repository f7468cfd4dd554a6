// The outbound queue's rules (docs/delivery.md): claiming due messages with leases that
// expire in the store (so several delivery instances never send one message twice, and a
// killed one's work is taken up again), recording each recipient's outcome, back-off,
// the queue lifetime, delay warnings and bounces, and the send log. Store work only: every
// function runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "store/records.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::queue {

struct Policy {
  std::int64_t retry_base = 300;         // first retry after 5 min, then doubling…
  std::int64_t retry_max = 4 * 3600;     // …up to every 4 h
  std::int64_t lifetime = 5 * 86400;     // then the message bounces (Postfix's maximal_queue_lifetime)
  std::int64_t delay_warning = 0;        // warn the sender once after this long (0: never)
  std::int64_t lease = 600;              // a claim lasts this long unless renewed
  std::string hostname = "localhost";    // the DSNs' Reporting-MTA
};

// Seconds to wait after the n-th failed attempt (n >= 1): base, 2·base, 4·base … ≤ max.
std::int64_t backoff(const Policy& p, std::uint32_t attempts);

// Claims up to `max` records due at `now` for `owner` until now + policy.lease: the lease
// is written into the record and the index lists it at the lease's end, so if the owner
// dies the record is due again then. Records whose lease another owner holds are skipped.
std::vector<store::QueueRecord> claim(store::WriteTxn& txn, std::int64_t now, std::string_view owner,
                                      const Policy& policy, std::size_t max);
// Claims these records now, whatever their due time (send-test-email, queue retry in the
// foreground); records another owner holds are left out.
std::vector<store::QueueRecord> claim_ids(store::WriteTxn& txn, const std::vector<std::uint64_t>& ids, std::int64_t now,
                                          std::string_view owner, const Policy& policy);
// Extends the owner's leases on these records.
std::error_code renew(store::WriteTxn& txn, const std::vector<std::uint64_t>& ids, std::string_view owner,
                      std::int64_t lease_until);

enum class Result : std::uint8_t { delivered, deferred, failed };
const char* result_name(Result r);

struct Outcome {
  std::string address;
  Result result = Result::deferred;
  std::string reply;   // the remote reply or why not, in words
  std::string remote;  // "mx.example.net [192.0.2.1]"
  std::string tls;     // "TLSv1.3" or ""
};

// What settle() did: the DSN queued, if any, and whether the record is gone.
struct Settled {
  std::uint64_t dsn_id = 0;
  bool finished = false;
};

// Records the outcomes of one attempt on a claimed record, then: recipients past the
// lifetime fail; deferred ones get their next attempt; failed ones get one DSN to the
// sender (never for a bounce); a delay warning once, if configured; the record goes when
// every recipient is final; the lease ends unless `keep_lease` (other parts of the record
// are still being delivered). Each outcome is written to the send log, with `security`:
// the TLS policy that applied to the attempt ("dane", "mta-sts enforce id=…", "").
std::error_code settle(store::WriteTxn& txn, std::uint64_t id, std::string_view owner,
                       const std::vector<Outcome>& outcomes, std::int64_t now, const Policy& policy,
                       Settled* out = nullptr, bool keep_lease = false, std::string_view security = {});

// Operator actions (mailstead queue …).
std::vector<store::QueueRecord> list(store::ReadTxn& txn);
std::error_code retry_now(store::WriteTxn& txn, std::uint64_t id, std::int64_t now);  // also clears a lease
std::error_code remove(store::WriteTxn& txn, std::uint64_t id);

// The send log (table send_log): one entry per recipient per attempt.
struct LogEntry {
  std::int64_t time = 0;
  std::uint64_t queue_id = 0;
  std::string sender, recipient, remote, tls, reply;
  Result result = Result::deferred;
  std::string security;  // the TLS policy that applied: "dane", "mta-sts enforce id=… (cached)", "" (docs/delivery.md)

  std::string encode() const;
  static std::optional<LogEntry> decode(std::string_view v);
};
std::error_code append_log(store::WriteTxn& txn, const LogEntry& e);
std::vector<LogEntry> read_log(store::ReadTxn& txn, std::int64_t since, std::size_t max = 100000);
// Removes entries older than `before`; at most `max` per call (keeps transactions short).
std::size_t prune_log(store::WriteTxn& txn, std::int64_t before, std::size_t max = 10000);

}  // namespace mailstead::queue

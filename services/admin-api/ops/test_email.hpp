// send-test-email, shared by `mailstead send-test-email` and POST /api/v1/send-test-email:
// two messages (from the default From address and from the noreply address) queued already
// leased to the caller's delivery engine, sent at once through the real delivery path
// (relay or MX, DKIM), and for each recipient where it went, with which TLS, and the reply
// or the failure in words (docs/delivery.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../../deliverd/engine.hpp"
#include "ops/admin_ops.hpp"
#include "queue/queue.hpp"
#include "../../deliverd/settings.hpp"

namespace mailstead::admin::test_email {

struct Message {
  std::string from;
  std::string which;  // "the default From address", "the noreply address"
  std::uint64_t id = 0;
};

// Checks `to` (field "to") and chooses the two senders from [outbound] from /
// noreply_address, else postmaster@ / noreply@ the first local domain.
Result<std::vector<Message>> prepare(store::ReadTxn& txn, const outbound::Settings& settings, std::string_view to);

// Queues the messages, leased to `owner` until `lease_until` so a running delivery service
// leaves them alone; fills in each Message's queue id.
Change<std::vector<Message>> plan_enqueue(std::vector<Message> messages, std::string to, std::string hostname,
                                          std::string owner, std::int64_t lease_until);

struct Outcome {
  std::uint64_t queue_id = 0;
  std::string from, which, to;
  queue::Result result = queue::Result::deferred;
  std::string route;  // "mx.example.net [192.0.2.1]:25", the relay, or ""
  std::string tls;    // "TLSv1.3" or ""
  std::string reply;  // the receiving server's reply, or why it did not go
};

// One entry per message and recipient, in the order sent.
std::vector<Outcome> outcomes(const std::vector<Message>& messages, const std::string& to,
                              const std::vector<outbound::Engine::Report>& reports);

}  // namespace mailstead::admin::test_email

// Local delivery of a message to local users, as the delivery service needs it for mail the
// server produces for local addresses (vacation replies, DSNs, notices, redirects, group
// fan-out): each user's Sieve script decides (common/sieve/delivery.hpp), then one write
// stores the message once, files each copy and queues what the scripts send. Planned with
// a read transaction (scripts run there), applied inside the caller's write batch.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "directory/routing.hpp"
#include "sieve/delivery.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store

namespace mailstead::delivery {

struct LocalTarget {
  std::uint64_t user = 0;
  std::string delivered_to;  // the address as the sender wrote it
};

struct LocalContext {
  std::string hostname;
  std::string sender;  // envelope reverse path ("" for a bounce)
  std::int64_t now = 0;
  directory::RoutingSettings routing;
  sieve::Limits limits;
};

struct LocalPlan {
  struct Copy {
    std::uint64_t user = 0;
    std::string delivered_to, prefix;
    sieve::Filing filing;
    std::size_t body = 0;  // index into bodies
  };
  std::vector<std::string> bodies;  // [0] the message; then messages a script edited
  std::vector<Copy> copies;
  std::vector<sieve::Outgoing> outgoing;
  std::vector<std::pair<std::uint64_t, sieve::Tracking>> tracking;
  std::vector<std::string> errors;  // Sieve run-time errors (the message was kept)
};

LocalPlan plan_local(store::ReadTxn& txn, const LocalContext& ctx, const std::vector<LocalTarget>& targets,
                     std::string message);
// Stores the bodies once (with their cached parse), files each copy, queues the scripts'
// outgoing messages and keeps their tracking records.
std::error_code apply_local(store::WriteTxn& txn, const LocalPlan& plan, const LocalContext& ctx);

}  // namespace mailstead::delivery

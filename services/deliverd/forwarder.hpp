// Sends the stream forwarding queue (common/streams/forwards.hpp; docs/streams.md,
// "Forwarding"): per target, the oldest pending job, one at a time, so the other side sees
// the stream's order. A job is claimed with a lease in the store (several deliverd
// instances never send one job at once), sent over HTTPS (or HTTP where the target allows
// it), then deleted (2xx), retried with exponential backoff (429, 5xx, no connection;
// Retry-After honoured) until [streams] forward_max_age, or recorded as failed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "config/core_settings.hpp"
#include "streams/settings.hpp"

namespace boost::asio {
class io_context;
}
namespace mailstead::store {
class Store;
}

namespace mailstead::outbound {

class Forwarder {
 public:
  // Throws std::runtime_error when [streams] forward_ca_file cannot be used.
  Forwarder(boost::asio::io_context& io, store::Store& store, const config::CoreSettings& core,
            const streams::ForwardSettings& settings, std::string owner);
  ~Forwarder();
  boost::asio::awaitable<void> run();
  void stop();
  // At shutdown, once the io_context has stopped: gives back the leases this instance still
  // holds (sends cut short), so the next start sends those jobs at once instead of waiting
  // the lease out. Blocks until the store has committed.
  void release_leases();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Constructs a Forwarder and spawns its run() on `io` (exceptions logged); nullptr after
// logging why when it cannot start.
std::unique_ptr<Forwarder> start_forwarder(boost::asio::io_context& io, store::Store& store,
                                           const config::CoreSettings& core, const streams::ForwardSettings& settings,
                                           const std::string& owner);

}  // namespace mailstead::outbound

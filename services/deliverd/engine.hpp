// The delivery engine: claims due queue records (leases in the store), delivers local
// recipients through the local delivery path (never the network), writes the file
// transport's .eml files, or sends by SMTP grouped by destination with per-destination and
// total connection limits, then settles each recipient (docs/delivery.md).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config/core_settings.hpp"
#include "queue/queue.hpp"
#include "settings.hpp"

namespace boost::asio {
class io_context;
}
namespace mailstead::store {
class Store;
}

namespace mailstead::outbound {

class Engine {
 public:
  Engine(boost::asio::io_context& io, store::Store& store, const config::CoreSettings& core, const Settings& settings);
  ~Engine();
  // Runs until stop(): claims, delivers, settles, renews leases, prunes the send log.
  boost::asio::awaitable<void> run();
  void stop();

  // Delivers these queued messages now, as run() would, and returns what happened to each
  // recipient (send-test-email). What is deferred stays queued for the service.
  struct Report {
    std::uint64_t id = 0;
    std::vector<queue::Outcome> outcomes;
  };
  boost::asio::awaitable<std::vector<Report>> deliver_now(std::vector<std::uint64_t> ids);
  // This instance's lease owner name and lease length: a record queued already leased to
  // it is not taken by a running service meanwhile.
  const std::string& owner() const;
  std::int64_t lease_seconds() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mailstead::outbound

// The delivery engine: claims due queue records (leases in the store), delivers local
// recipients through the local delivery path (never the network), writes the file
// transport's .eml files, or sends by SMTP grouped by destination with per-destination and
// total connection limits, then settles each recipient (docs/delivery.md).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "config/core_settings.hpp"
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

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mailstead::outbound

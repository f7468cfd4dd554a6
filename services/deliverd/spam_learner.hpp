// The spam-learning worker of mailstead-deliverd (docs/spam.md, docs/architecture.md):
// teaches spamd (TELL, Set: local) from the records imapd writes when a message is moved
// into Junk (spam) or out of it (ham). Records are claimed with a lease, removed only once
// spamd confirmed, and retried with back-off; IMAP never waits for any of it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>

#include "config/core_settings.hpp"

namespace mailstead::store {
class Store;
}

namespace mailstead::outbound {

class SpamLearner {
 public:
  SpamLearner(boost::asio::io_context& io, store::Store& store, const config::CoreSettings& core, std::string owner);
  boost::asio::awaitable<void> run();
  void stop();

 private:
  boost::asio::awaitable<bool> teach(std::uint64_t user, const std::string& blob, bool spam);
  boost::asio::io_context& io_;
  store::Store& store_;
  const config::CoreSettings& core_;
  std::string owner_;
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
};

}  // namespace mailstead::outbound

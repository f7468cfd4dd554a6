// The chat gateway's polling mode (docs/streams.md, "Polling an IMAP mailbox"): for an
// installation without an MX record, mailstead-deliverd reads an external mailbox over IMAPS
// whose `+` addresses carry the stream part, posts each message by the rules of the SMTP
// path, and only then deletes or flags it. Posted once across restarts: the (UIDVALIDITY,
// UID) record is written in the post's transaction (common/streams/polled.hpp).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "config/core_settings.hpp"
#include "directory/routing.hpp"
#include "streams/settings.hpp"

namespace mailstead::store {
class Store;
}

namespace mailstead::poll {

class Connection;

class StreamPoller {
 public:
  // Throws std::runtime_error when the settings cannot work (no password, a CA file that
  // does not load).
  StreamPoller(boost::asio::io_context& io, store::Store& store, const config::CoreSettings& core,
               const streams::Settings& settings);
  ~StreamPoller();
  boost::asio::awaitable<void> run();
  void stop();

 private:
  // One connection's life: login, select, rounds, IDLE or sleep. Returns why it ended.
  boost::asio::awaitable<std::string> session(bool& logged_in);
  // One round over the mailbox. "" or why the connection broke; `more`: a full batch.
  boost::asio::awaitable<std::string> round(Connection& c, std::uint32_t uidvalidity, bool& more);
  boost::asio::awaitable<std::string> finish_deleted(Connection& c, std::uint32_t uidvalidity);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);

  boost::asio::io_context& io_;
  store::Store& store_;
  const streams::Settings& settings_;
  const streams::Settings::Poll& st_;
  std::string password_;
  directory::RoutingSettings routing_;
  std::string source_;  // poll_source() of this mailbox
  boost::asio::ssl::context tls_;
  boost::asio::steady_timer wake_;
  std::shared_ptr<Connection> conn_;
  bool stopping_ = false;
};

}  // namespace mailstead::poll

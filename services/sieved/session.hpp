// One ManageSieve session (RFC 5804): capability block, STARTTLS (required before
// AUTHENTICATE), AUTHENTICATE PLAIN, and the script commands over common/sieve's storage
// and parser. A coroutine on the shared server runner, like imapd's sessions.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <system_error>
#include <memory>
#include <optional>
#include <string>

#include "config/core_settings.hpp"
#include "counters.hpp"
#include "net/stream.hpp"
#include "proto/protocol.hpp"
#include "settings.hpp"

namespace mailstead::store {
class Store;
class WriteTxn;
}
namespace mailstead::auth {
class VerifiedCache;
class FailureLimiter;
}  // namespace mailstead::auth

namespace mailstead::managesieve {

namespace asio = boost::asio;

struct Shared {
  const Settings& settings;
  const config::CoreSettings& core;
  store::Store& store;
  asio::ssl::context& tls;
  auth::VerifiedCache& password_cache;
  auth::FailureLimiter& auth_limiter;
  asio::thread_pool& slow_pool;
};

class Session {
 public:
  Session(Shared& shared, asio::ip::tcp::socket socket);
  asio::awaitable<void> run();

 private:
  asio::awaitable<bool> flush();
  asio::awaitable<bool> read_more();
  asio::awaitable<std::optional<std::string>> read_command();
  void reply(std::string_view status, std::string_view code, std::string_view text);
  void bad(std::string_view text);
  std::string capabilities() const;

  asio::awaitable<void> dispatch(Command& c);
  asio::awaitable<void> cmd_starttls();
  asio::awaitable<void> cmd_authenticate(Command& c);
  void cmd_listscripts();
  asio::awaitable<void> cmd_putscript(Command& c);
  void cmd_checkscript(Command& c);
  void cmd_getscript(Command& c);
  asio::awaitable<void> cmd_setactive(Command& c);
  asio::awaitable<void> cmd_deletescript(Command& c);
  asio::awaitable<void> cmd_renamescript(Command& c);
  void cmd_havespace(Command& c);
  // Runs a store batch; false (with a NO sent) on failure.
  asio::awaitable<bool> commit(std::function<std::error_code(store::WriteTxn&)> fn);
  // Checks a script; sends NO with the parser's message and returns false when it is bad.
  bool validate(const std::string& text, std::vector<std::string>& warnings);

  Shared& shared_;
  std::optional<metrics::GaugeHold> logged_in_;  // mailstead_authenticated_sessions while it lives
  std::unique_ptr<net::Stream> stream_;
  std::string id_, peer_;
  std::string in_, out_;
  std::uint32_t errors_ = 0;
  bool logout_ = false;
  std::optional<std::uint64_t> user_id_;
  std::string user_address_;
};

}  // namespace mailstead::managesieve

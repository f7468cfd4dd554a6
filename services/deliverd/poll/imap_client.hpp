// One IMAPS connection to the polled mailbox (RFC 3501 client side, RFC 8314 implicit TLS):
// TLS 1.2 or later with the certificate checked against the host name, tagged commands
// whose answers are framed by imap_response.hpp under the configured limits, a deadline on
// every wait, and IDLE (RFC 2177) ended by DONE on new mail or after a set time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "poll/imap_response.hpp"
#include "streams/settings.hpp"

namespace mailstead::poll {

struct Reply {
  std::string error;  // non-empty: the connection broke (I/O, timeout, a protocol error, BYE)
  Status status;      // the tagged completion
  std::vector<Frame> untagged;
  bool ok() const { return error.empty() && status.kind == "OK"; }
  // What went wrong, in words: the error, or the server's NO/BAD text.
  std::string why() const { return error.empty() ? status.kind + " " + status.text : error; }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::any_io_executor ex, boost::asio::ssl::context& tls, const streams::Settings::Poll& settings);
  // Resolves, connects, handshakes and reads the greeting. "" or why it failed.
  boost::asio::awaitable<std::string> open();
  // Sends "<tag> <command>" and gathers the responses up to the tagged one. `secret`: the
  // command holds a password (never traced, never in an error text).
  boost::asio::awaitable<Reply> command(std::string command, bool secret = false);
  // IDLE until the server announces a change (EXISTS, EXPUNGE, RECENT) or `limit` passes,
  // then DONE. "" or why the connection broke.
  boost::asio::awaitable<std::string> idle(std::chrono::milliseconds limit);
  // Ends any wait at once (the poller is stopping).
  void close();

  // Capabilities, upper case (from the greeting, CAPABILITY or a response code).
  bool has(std::string_view capability) const { return caps_.count(std::string(capability)) > 0; }
  const std::string& remote() const { return remote_; }

 private:
  boost::asio::awaitable<std::string> read_frame(Frame& out, std::chrono::milliseconds timeout);
  boost::asio::awaitable<std::string> write(std::string data);
  void learn(const Frame& f);

  const streams::Settings::Poll& st_;
  Limits limits_;
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  std::string buf_;
  std::set<std::string> caps_;
  std::uint32_t next_tag_ = 1;
  std::string remote_;
  bool closed_ = false;
};

}  // namespace mailstead::poll

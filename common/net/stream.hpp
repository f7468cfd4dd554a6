// A connection that starts in plain text or TLS and can be upgraded in place (STARTTLS,
// RFC 3207). Reads and writes report errors as values; a watchdog closes the socket when
// the session's deadline passes, so every state can set its own timeout.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace mailstead::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Stream {
 public:
  explicit Stream(tcp::socket socket);
  ~Stream();

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buf, boost::system::error_code& ec);
  asio::awaitable<void> write(std::string_view data, boost::system::error_code& ec);
  // Server side of the TLS handshake, on this connection.
  asio::awaitable<void> handshake(asio::ssl::context& ctx, boost::system::error_code& ec);
  asio::awaitable<void> shutdown();

  // COMPRESS=DEFLATE (RFC 4978): from now on both directions are raw deflate streams.
  // Compression uses a small window and memory level (the peer inflates with any window),
  // so an idle compressed session stays small.
  void enable_deflate();
  bool deflating() const { return zip_ != nullptr; }

  bool tls() const { return tls_ != nullptr; }
  std::string tls_version() const;
  std::string tls_cipher() const;
  std::string peer_address() const { return peer_; }

  // The session's deadline: when it passes, the socket is closed and the pending read or
  // write fails. Call before each wait.
  void expires_after(std::chrono::steady_clock::duration d);
  // Starts the watchdog (once, after construction, on the socket's executor).
  void start_watchdog();
  bool timed_out() const { return timed_out_; }
  void close();

 private:
  asio::awaitable<void> watchdog();
  asio::awaitable<std::size_t> raw_read(asio::mutable_buffer buf, boost::system::error_code& ec);
  asio::awaitable<void> raw_write(std::string_view data, boost::system::error_code& ec);
  struct Zip;
  std::unique_ptr<Zip, void (*)(Zip*)> zip_{nullptr, nullptr};
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  std::string peer_;
  bool timed_out_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mailstead::net

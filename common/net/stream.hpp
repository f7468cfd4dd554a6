// A connection that starts in plain text or TLS and can be upgraded in place (STARTTLS,
// RFC 3207). Reads and writes report errors as values; a watchdog closes the socket when
// a limit passes: the idle limit of each wait, and the time a whole phase (a command, a
// DATA transfer, the login phase) may spend waiting for the peer, which bytes arriving
// never extend.
//
// TLS runs OpenSSL directly on the non-blocking socket (a small BIO of ours), not through
// asio's ssl::stream: that one keeps two 17 KiB buffers and a BIO pair of two more for every
// connection, idle or not. With SSL_MODE_RELEASE_BUFFERS (net/tls.cpp) an idle TLS session
// holds only OpenSSL's connection state (docs/performance.md, "Memory with idle connections").
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <openssl/ssl.h>
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
  // Waits until read_some() has something to return (or an error or the end) without
  // holding a buffer meanwhile: an idle session waits here, then reads into a buffer of
  // the size it needs.
  asio::awaitable<void> wait_readable(boost::system::error_code& ec);
  // Whether read_some() would return at once: bytes inflated, decrypted or in the socket.
  bool readable_now();
  asio::awaitable<void> write(std::string_view data, boost::system::error_code& ec);
  // Server side of the TLS handshake, on this connection. It must finish within `limit`
  // of its start however the peer trickles bytes (and within the phase's time left).
  asio::awaitable<void> handshake(asio::ssl::context& ctx, std::chrono::steady_clock::duration limit,
                                  boost::system::error_code& ec);
  asio::awaitable<void> shutdown();

  // COMPRESS=DEFLATE (RFC 4978): from now on both directions are raw deflate streams.
  // Compression uses a small window and memory level (the peer inflates with any window),
  // so an idle compressed session stays small.
  void enable_deflate();
  bool deflating() const { return zip_ != nullptr; }

  bool tls() const { return ssl_ != nullptr; }
  std::string tls_version() const;
  std::string tls_cipher() const;
  std::string peer_address() const { return peer_; }

  // The idle limit: when now + d passes, the socket is closed and the pending read or
  // write fails (with none pending, at the start of the next). Call before each wait;
  // every call moves it.
  void expires_after(std::chrono::steady_clock::duration d);
  // A phase: from begin_phase() to end_phase(), the reads and writes together may wait
  // for the peer `budget` in all, whatever expires_after() says; when it is spent the
  // socket is closed. Time spent elsewhere (the store, argon2id, a failure delay) does not
  // count. Sessions use one per command line, per DATA transfer (extended as data
  // arrives, for a minimum rate) and for the whole login phase, so a peer sending a byte
  // now and then cannot hold a connection (docs/security.md, "Slow clients").
  void begin_phase(std::chrono::steady_clock::duration budget);
  void extend_phase(std::chrono::steady_clock::duration more);
  void end_phase();
  // Starts the watchdog (once, after construction, on the socket's executor).
  void start_watchdog();
  bool timed_out() const { return timed_out_; }
  void close();
  // The socket's executor: an adapter that runs this Stream as an asio stream (the WebSocket
  // of common/http/websocket.cpp) starts its reads and writes there.
  asio::any_io_executor get_executor() { return socket_.get_executor(); }

 private:
  asio::awaitable<void> watchdog();
  asio::awaitable<std::size_t> raw_read(asio::mutable_buffer buf, boost::system::error_code& ec);
  asio::awaitable<void> raw_write(std::string_view data, boost::system::error_code& ec);
  asio::awaitable<std::size_t> read_inflated(asio::mutable_buffer buf, boost::system::error_code& ec);
  asio::awaitable<void> write_deflated(std::string_view data, boost::system::error_code& ec);
  // After an SSL_* call returned r <= 0: waits for what OpenSSL needs (true: call again)
  // or sets ec (false).
  asio::awaitable<bool> tls_retry(int r, boost::system::error_code& ec);
  // After a handshake the peer got wrong (plain text into TLS): reads and drops what it sent,
  // bounded, so that our close reaches it as an end rather than a reset.
  asio::awaitable<void> drain_refused();
  struct Zip;
  std::unique_ptr<Zip, void (*)(Zip*)> zip_{nullptr, nullptr};
  tcp::socket socket_;
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  std::unique_ptr<SSL, SslFree> ssl_;
  // Brackets every wait for the peer, for the phase's account.
  struct Waiting;
  void rearm();
  std::chrono::steady_clock::time_point limit() const;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point idle_deadline_;
  bool in_phase_ = false;
  std::chrono::steady_clock::duration phase_left_{};
  int waits_ = 0;  // reads and writes under way (at most one of each)
  std::chrono::steady_clock::time_point wait_started_;
  std::chrono::steady_clock::time_point armed_;  // what the watchdog waits for
  std::string peer_;
  bool timed_out_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mailstead::net

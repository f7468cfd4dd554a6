// Plain/TLS connection with a deadline watchdog.
#include "net/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/write.hpp>

namespace mailstead::net {

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
}

Stream::Stream(tcp::socket socket)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), deadline_(std::chrono::steady_clock::now() + std::chrono::minutes(5)) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) peer_ = ep.address().to_string();
  socket_.set_option(tcp::no_delay(true), ec);
}

Stream::~Stream() {
  *alive_ = false;
  timer_.cancel();
}

void Stream::start_watchdog() {
  asio::co_spawn(socket_.get_executor(), watchdog(), asio::detached);
}

asio::awaitable<void> Stream::watchdog() {
  auto alive = alive_;
  while (*alive) {
    timer_.expires_at(deadline_);
    auto [ec] = co_await timer_.async_wait(tuple_awaitable);
    if (!*alive) co_return;
    if (std::chrono::steady_clock::now() >= deadline_) {
      timed_out_ = true;
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
      co_return;
    }
    (void)ec;  // cancelled because the deadline moved: wait again
  }
}

void Stream::expires_after(std::chrono::steady_clock::duration d) {
  auto next = std::chrono::steady_clock::now() + d;
  bool earlier = next < deadline_;
  deadline_ = next;
  if (earlier) timer_.cancel();  // re-arm at the new, earlier deadline
}

asio::awaitable<std::size_t> Stream::read_some(asio::mutable_buffer buf, boost::system::error_code& ec) {
  if (tls_) {
    auto [e, n] = co_await tls_->async_read_some(buf, tuple_awaitable);
    ec = e;
    co_return n;
  }
  auto [e, n] = co_await socket_.async_read_some(buf, tuple_awaitable);
  ec = e;
  co_return n;
}

asio::awaitable<void> Stream::write(std::string_view data, boost::system::error_code& ec) {
  if (tls_) {
    auto [e, n] = co_await asio::async_write(*tls_, asio::buffer(data), tuple_awaitable);
    ec = e;
    co_return;
  }
  auto [e, n] = co_await asio::async_write(socket_, asio::buffer(data), tuple_awaitable);
  ec = e;
}

asio::awaitable<void> Stream::handshake(asio::ssl::context& ctx, boost::system::error_code& ec) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, ctx);
  auto [e] = co_await tls_->async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
  ec = e;
}

asio::awaitable<void> Stream::shutdown() {
  boost::system::error_code ec;
  if (tls_) {
    expires_after(std::chrono::seconds(2));
    co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }
  socket_.shutdown(tcp::socket::shutdown_both, ec);
}

void Stream::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

std::string Stream::tls_version() const {
  return tls_ ? SSL_get_version(tls_->native_handle()) : "";
}

std::string Stream::tls_cipher() const {
  return tls_ ? SSL_CIPHER_get_name(SSL_get_current_cipher(tls_->native_handle())) : "";
}

}  // namespace mailstead::net

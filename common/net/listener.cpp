// Acceptors with SO_REUSEPORT and connection limits (per listener and per IP).
#include "net/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "config/source.hpp"
#include "log/log.hpp"

namespace mailstead::net {

tcp::acceptor open_acceptor(const asio::any_io_executor& ex, const std::string& host_port) {
  std::string host;
  std::uint16_t port = 0;
  if (!config::split_host_port(host_port, host, port)) throw std::runtime_error("bad listen address " + host_port);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("bad listen address " + host_port + ": " + ec.message());
  tcp::endpoint ep(addr, port);
  tcp::acceptor a(ex);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) {
    int one = 1;
    if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      ec.assign(errno, boost::system::system_category());
  }
  if (!ec && addr.is_v6()) a.set_option(asio::ip::v6_only(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + host_port + ": " + ec.message());
  return a;
}

ConnectionLimits::Verdict ConnectionLimits::admit(const std::string& ip, std::size_t listener) {
  std::lock_guard lock(mu_);
  auto& on_listener = per_listener_[listener];
  if (on_listener >= max_per_listener_) return Verdict::too_many_on_listener;
  auto& n = per_ip_[ip];
  if (n >= max_per_ip_) return Verdict::too_many_from_ip;
  ++n;
  ++on_listener;
  return Verdict::ok;
}

void ConnectionLimits::release(const std::string& ip, std::size_t listener) {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  --per_listener_[listener];
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::function<void(tcp::socket)> on_connection) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: wait a little rather than spin.
      log::warn("net.accept.failed", {{"error", ec.message()}});
      asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    on_connection(std::move(socket));
  }
}

}  // namespace mailstead::net

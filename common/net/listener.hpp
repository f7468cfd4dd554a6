// Listening sockets and connection admission: one acceptor per thread on the same
// address with SO_REUSEPORT (docs/architecture.md, "Serving"), and limits on connections
// per listener and per client IP, shared by every thread of the process.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace mailstead::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Opens, binds (SO_REUSEADDR, SO_REUSEPORT) and listens. Throws std::runtime_error naming the address.
tcp::acceptor open_acceptor(const asio::any_io_executor& ex, const std::string& host_port);

// Each listener (one listening address, e.g. port 465) has its own count, so connections
// piling up on one port (1,000 clients that never start TLS on 465) can never refuse
// another (25, 587). The per-IP count spans every listener of the process.
class ConnectionLimits {
 public:
  ConnectionLimits(std::uint32_t max_per_listener, std::uint32_t max_per_ip)
      : max_per_listener_(max_per_listener), max_per_ip_(max_per_ip) {}
  enum class Verdict { ok, too_many_on_listener, too_many_from_ip };
  // `listener` names the listening address (any stable small number).
  Verdict admit(const std::string& ip, std::size_t listener);
  void release(const std::string& ip, std::size_t listener);

 private:
  std::uint32_t max_per_listener_, max_per_ip_;
  std::mutex mu_;
  std::map<std::size_t, std::uint32_t> per_listener_;
  std::map<std::string, std::uint32_t> per_ip_;
};

// Accepts until the acceptor closes, calling `on_connection` (which spawns a session).
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::function<void(tcp::socket)> on_connection);

}  // namespace mailstead::net

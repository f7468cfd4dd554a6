// Listening sockets and connection admission: one acceptor per thread on the same
// address with SO_REUSEPORT (DESIGN principle 3), and limits on connections in total and
// per client IP, shared by every thread of the process.
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

class ConnectionLimits {
 public:
  ConnectionLimits(std::uint32_t max_total, std::uint32_t max_per_ip) : max_total_(max_total), max_per_ip_(max_per_ip) {}
  enum class Verdict { ok, too_many_total, too_many_from_ip };
  Verdict admit(const std::string& ip);
  void release(const std::string& ip);

 private:
  std::uint32_t max_total_, max_per_ip_;
  std::mutex mu_;
  std::uint32_t total_ = 0;
  std::map<std::string, std::uint32_t> per_ip_;
};

// Accepts until the acceptor closes, calling `on_connection` (which spawns a session).
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::function<void(tcp::socket)> on_connection);

}  // namespace mailstead::net

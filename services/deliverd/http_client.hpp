// The delivery service's one HTTP(S) client (Boost.Beast): one request to one address, with
// the certificate checked against a name (or an IP address), a deadline for the whole
// exchange and a limit on the answer's size. MTA-STS policy fetches (mta_sts.hpp) and
// stream forwarding (forwarder.hpp) both use it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace mailstead::outbound::http_client {

struct Request {
  std::string method = "GET";
  std::string host;     // Host header, SNI and the name the certificate must hold
  std::string address;  // where to connect: an IPv4 or IPv6 address
  std::uint16_t port = 443;
  bool tls = true;
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host, User-Agent, Connection
  std::string body;                                          // sent with Content-Length when not empty
};

struct Options {
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::size_t max_body = 64 * 1024;
};

enum class Failure : std::uint8_t { none, connect, tls, send, read, too_large };

struct Response {
  Failure failure = Failure::none;  // none: `status` and the rest are the answer
  std::string error;                // why not, in words ("cannot connect to …")
  int status = 0;
  std::string content_type;
  std::string retry_after;  // the Retry-After header as sent
  std::string body;
};

// "host [address]:port", for messages.
std::string describe(const Request& r);

// (References: GCC 12 may destroy by-value coroutine arguments inside co_await twice.)
boost::asio::awaitable<Response> send(boost::asio::io_context& io, boost::asio::ssl::context& tls, const Request& request,
                                      const Options& options);

}  // namespace mailstead::outbound::http_client

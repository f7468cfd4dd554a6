// One HTTP/1.1 connection (RFC 9112) on the shared server runner: TLS handshake, then
// requests read with Beast's parser under absolute deadlines and size limits, each handed
// to the handler, keep-alive until the client closes or a limit is reached. Beast is used
// only in session.cpp. The admin API serves on it, and every service's /metrics.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "http/message.hpp"

namespace mailstead::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

// The limits of one listener's connections (the admin API's come from [admin]; a metrics
// listener keeps these defaults: a scrape is one small GET).
struct Limits {
  std::uint32_t max_header_size = 16 << 10;
  std::uint64_t max_body_size = 4 << 10;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};  // first byte to last
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};     // waiting for the next request
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(10)};
  std::uint32_t max_requests_per_connection = 1000;
};

// Limits from settings that name them alike ([admin]).
template <class Settings>
Limits limits_of(const Settings& s) {
  return {s.max_header_size, s.max_body_size,          s.request_timeout, s.idle_timeout,
          s.write_timeout,   s.tls_handshake_timeout, s.max_requests_per_connection};
}

struct Shared {
  Limits settings;
  boost::asio::ssl::context* tls;  // null: plain HTTP (the metrics listener)
  Handler handler;
  std::string name;  // for log lines: "admin.http", "admin.metrics"
};

class Session {
 public:
  Session(Shared& shared, boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> run();

 private:
  Shared& shared_;
  boost::asio::ip::tcp::socket socket_;
};

// Headers every response carries: no framing by other sites, no MIME sniffing, a strict
// Content-Security-Policy (no inline script), no referrer, no caching of API answers.
void add_security_headers(Response& r, bool tls);

}  // namespace mailstead::http

// One HTTP/1.1 connection (RFC 9112) on the shared server runner: TLS handshake, then
// requests read with Beast's parser under absolute deadlines and size limits, each handed
// to the handler, keep-alive until the client closes or a limit is reached. Beast is used
// only in session.cpp.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <string>

#include "http/message.hpp"
#include "settings.hpp"

namespace mailstead::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

struct Shared {
  const admin::Settings& settings;
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

// The HTTP/1.1 session (see session.hpp). Each request gets an absolute deadline from its
// first byte (request_timeout), the wait for the next request another (idle_timeout), each
// response a third (write_timeout): a client that sends or reads slowly is closed, never
// waited on, and its worker serves others meanwhile.
#include "http/session.hpp"
#include "http/websocket_accept.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "log/log.hpp"
#include "net/stream.hpp"
#include "util/text.hpp"

namespace mailstead::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

void add_security_headers(Response& r, bool tls) {
  auto& h = r.headers;
  h.emplace_back("X-Content-Type-Options", "nosniff");
  h.emplace_back("X-Frame-Options", "DENY");
  h.emplace_back("Content-Security-Policy",
                 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
  h.emplace_back("Referrer-Policy", "no-referrer");
  h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  if (tls) h.emplace_back("Strict-Transport-Security", "max-age=31536000");
  bool has_cache = false;
  for (auto& [n, v] : h) has_cache |= iequals(n, "Cache-Control");
  if (!has_cache) h.emplace_back("Cache-Control", "no-store");
}

namespace {

std::string serialize(const Response& r, bool head, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
  if (!r.content_type.empty() && r.status != 204) out += "Content-Type: " + r.content_type + "\r\n";
  if (r.status != 204) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [n, v] : r.headers) out += n + ": " + v + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "\r\n";
  if (!head && r.status != 204) out += r.body;
  return out;
}

Response error_response(int status, const std::string& code, const std::string& message) {
  Response r;
  r.status = status;
  std::string m;
  for (char c : message) m += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  r.body = "{\"error\":{\"code\":\"" + code + "\",\"message\":\"" + m + "\",\"field\":\"\"}}";
  r.close = true;
  return r;
}

}  // namespace

Session::Session(Shared& shared, asio::ip::tcp::socket socket) : shared_(shared), socket_(std::move(socket)) {}

asio::awaitable<void> Session::run() {
  const auto& s = shared_.settings;
  auto id = new_session_id();
  net::Stream stream(std::move(socket_));
  auto peer = stream.peer_address();
  stream.start_watchdog();
  boost::system::error_code ec;
  if (shared_.tls) {
    co_await stream.handshake(*shared_.tls, s.tls_handshake_timeout, ec);
    if (ec) {
      log::debug(shared_.name + ".tls.failed", {{"session", id}, {"peer", peer}, {"error", ec.message()}});
      co_return;
    }
  }
  std::string buf;
  std::uint32_t served = 0;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(s.max_header_size);
    parser.body_limit(s.max_body_size);
    parser.eager(true);
    stream.expires_after(s.idle_timeout);
    bool started = !buf.empty(), continued = false;
    if (started) stream.expires_after(s.request_timeout);
    std::optional<Response> refusal;
    while (!parser.is_done()) {
      if (!buf.empty()) {
        boost::system::error_code pec;
        auto used = parser.put(asio::buffer(buf), pec);
        buf.erase(0, used);
        if (pec == bhttp::error::need_more) pec = {};
        if (pec == bhttp::error::body_limit) {
          refusal = error_response(413, "too_large", "the request body is larger than " +
                                                         std::to_string(s.max_body_size) + " bytes");
          break;
        }
        if (pec == bhttp::error::header_limit) {
          refusal = error_response(431, "headers_too_large", "the request header is too large");
          break;
        }
        if (pec) {
          refusal = error_response(400, "bad_request", "malformed HTTP request: " + pec.message());
          break;
        }
        if (parser.is_done()) break;
        if (used > 0 && !buf.empty()) continue;
      }
      // RFC 9110 10.1.1: a client waiting for 100 (curl, for larger bodies) gets it once the
      // header is accepted.
      if (parser.is_header_done() && !continued) {
        continued = true;
        if (iequals(std::string_view(parser.get()[bhttp::field::expect]), "100-continue")) {
          stream.expires_after(s.write_timeout);
          co_await stream.write("HTTP/1.1 100 Continue\r\n\r\n", ec);
          if (ec) co_return;
        }
      }
      char chunk[16384];
      auto n = co_await stream.read_some(asio::buffer(chunk), ec);
      if (ec) {
        if (started && stream.timed_out())
          log::info(shared_.name + ".request.timeout", {{"session", id}, {"peer", peer}});
        co_return;  // closed, reset or timed out: nothing more to say on this connection
      }
      if (!started) {
        started = true;
        stream.expires_after(s.request_timeout);  // absolute: from the first byte to the last
      }
      buf.append(chunk, n);
    }
    Response res;
    bool keep_alive = false, head = false;
    if (refusal) {
      res = std::move(*refusal);
    } else {
      auto& msg = parser.get();
      Request req;
      req.method = std::string(msg.method_string());
      std::string_view target = msg.target();
      auto q = target.find('?');
      req.path = std::string(target.substr(0, q));
      if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
      for (const auto& f : msg) req.headers.emplace_back(lower(std::string_view(f.name_string())), std::string(f.value()));
      req.body = std::move(msg.body());
      req.peer = peer;
      req.tls = shared_.tls != nullptr;
      req.websocket = boost::beast::websocket::is_upgrade(msg);
      head = req.method == "HEAD";
      keep_alive = msg.keep_alive() && ++served < s.max_requests_per_connection;
      try {
        res = co_await shared_.handler(req);
      } catch (const std::exception& e) {
        log::error(shared_.name + ".handler.exception", {{"session", id}, {"path", req.path}, {"error", e.what()}});
        res = error_response(500, "internal", "the server failed; see its log");
      }
      if (res.close) keep_alive = false;
      if (res.status == 101 && res.upgrade && req.websocket) {
        // The connection is the WebSocket's from here (RFC 6455 4.2.2): Beast answers 101.
        auto upgrade = std::move(res.upgrade);
        co_await run_websocket(stream, msg, *upgrade, shared_.name, id);
        co_return;
      }
      if (res.status == 101) res = error_response(500, "internal", "the server failed; see its log");
    }
    add_security_headers(res, shared_.tls != nullptr);
    stream.expires_after(s.write_timeout);
    co_await stream.write(serialize(res, head, keep_alive), ec);
    if (ec) co_return;
    if (refusal) {
      // Lingering close: a client still sending the body it was refused for would get a
      // reset instead of the answer; read and drop what it sends, within a short bound.
      stream.expires_after(std::chrono::seconds(2));
      std::size_t dropped = 0;
      char sink[16384];
      while (dropped < 16 * 1024 * 1024) {
        auto n = co_await stream.read_some(asio::buffer(sink), ec);
        if (ec) break;
        dropped += n;
      }
      co_return;
    }
    if (!keep_alive) break;
  }
  co_await stream.shutdown();
}

}  // namespace mailstead::http

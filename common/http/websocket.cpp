// The WebSocket side of an HTTP session (websocket.hpp): Beast's websocket stream over the
// session's own TLS stream (or socket), its idle ping/pong timeout and message size limit,
// and the session's watchdog as the deadline of each write, so a peer that stops reading
// is disconnected instead of holding a write forever.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "http/websocket_accept.hpp"
#include "log/log.hpp"

namespace mailstead::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ws = boost::beast::websocket;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
// Between writes the session's watchdog is pushed this far away: the read side is timed by
// the WebSocket's own idle timeout (with pings), each write by write_timeout.
constexpr auto far_away = std::chrono::hours(24 * 365);

template <class Next>
class BeastWebSocket final : public WebSocket {
 public:
  BeastWebSocket(Next& next, net::Stream& stream, const WebSocketLimits& limits)
      : ws_(next), stream_(stream), limits_(limits) {}

  asio::awaitable<void> accept(const beast::http::request<beast::http::string_body>& req,
                               boost::system::error_code& ec) {
    ws_.read_message_max(limits_.max_message_size);
    ws::stream_base::timeout t;
    t.handshake_timeout = limits_.write_timeout;
    t.idle_timeout = limits_.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(ws::stream_base::decorator([](ws::response_type& r) {
      r.set(beast::http::field::server, "mailstead");
      r.set("X-Content-Type-Options", "nosniff");
    }));
    stream_.expires_after(limits_.write_timeout);
    auto [e] = co_await ws_.async_accept(req, tuple_awaitable);
    stream_.expires_after(far_away);
    ec = e;
  }

  asio::awaitable<void> read(std::string& out, boost::system::error_code& ec) override {
    beast::flat_buffer buf;
    auto [e, n] = co_await ws_.async_read(buf, tuple_awaitable);
    ec = e;
    (void)n;
    if (!e) out = beast::buffers_to_string(buf.data());
  }

  asio::awaitable<void> write(std::string_view text, boost::system::error_code& ec) override {
    ws_.text(true);
    stream_.expires_after(limits_.write_timeout);
    asio::const_buffer bytes(text.data(), text.size());
    auto [e, n] = co_await ws_.async_write(bytes, tuple_awaitable);
    (void)n;
    stream_.expires_after(far_away);
    ec = e;
  }

  asio::awaitable<void> close(std::uint16_t code, std::string_view reason) override {
    if (!ws_.is_open()) co_return;
    stream_.expires_after(limits_.write_timeout);
    ws::close_reason why;
    why.code = code;
    why.reason.assign(reason.data(), std::min<std::size_t>(reason.size(), 120));
    auto [e] = co_await ws_.async_close(why, tuple_awaitable);
    (void)e;
  }

  void abort() override { stream_.close(); }

 private:
  ws::stream<Next&> ws_;
  net::Stream& stream_;
  WebSocketLimits limits_;
};

template <class Next>
asio::awaitable<void> serve(Next& next, net::Stream& stream, const beast::http::request<beast::http::string_body>& req,
                            Upgrade& up, const std::string& log_name, const std::string& session) {
  BeastWebSocket<Next> socket(next, stream, up.limits);
  boost::system::error_code ec;
  co_await socket.accept(req, ec);
  if (ec) {
    log::debug(log_name + ".websocket.refused", {{"session", session}, {"error", ec.message()}});
    co_return;
  }
  try {
    co_await up.run(socket);
  } catch (const std::exception& e) {
    log::error(log_name + ".websocket.exception", {{"session", session}, {"error", e.what()}});
  }
  socket.abort();
}

}  // namespace

asio::awaitable<void> run_websocket(net::Stream& stream, const beast::http::request<beast::http::string_body>& req,
                                    Upgrade& up, const std::string& log_name, const std::string& session) {
  if (auto* tls = stream.tls_stream())
    co_await serve(*tls, stream, req, up, log_name, session);
  else
    co_await serve(stream.socket(), stream, req, up, log_name, session);
}

}  // namespace mailstead::http

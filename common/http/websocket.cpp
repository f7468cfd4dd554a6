// The WebSocket side of an HTTP session (websocket.hpp): Beast's websocket stream over the
// session's own net::Stream (TLS or plain), its idle ping/pong timeout and message size limit,
// and the session's watchdog as the deadline of each write, so a peer that stops reading
// is disconnected instead of holding a write forever.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <algorithm>
#include <exception>
#include <utility>

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

// net::Stream as the asio stream Beast's websocket stream reads and writes through: each
// async_read_some/async_write_some runs the Stream's own read_some()/write() (its TLS, its
// watchdog) in a coroutine of its own. Beast keeps at most one read and one write under way
// at a time, which is what net::Stream allows.
class StreamIo {
 public:
  using executor_type = asio::any_io_executor;
  explicit StreamIo(net::Stream& stream) : stream_(stream) {}
  executor_type get_executor() { return stream_.get_executor(); }
  net::Stream& stream() { return stream_; }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    asio::mutable_buffer first;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      asio::mutable_buffer b(*it);
      if (b.size() > 0) {
        first = b;
        break;
      }
    }
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, asio::mutable_buffer buf) { launch(std::move(handler), read(buf)); }, token, first);
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    // Gathered into one write (one TLS record): Beast hands a frame's header and its payload
    // as separate buffers.
    std::string bytes;
    bytes.reserve(std::min(asio::buffer_size(buffers), max_write));
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      asio::const_buffer b(*it);
      auto take = std::min(b.size(), max_write - bytes.size());
      bytes.append(static_cast<const char*>(b.data()), take);
      if (bytes.size() == max_write) break;
    }
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, std::string data) { launch(std::move(handler), write(std::move(data))); }, token,
        std::move(bytes));
  }

 private:
  static constexpr std::size_t max_write = 64 << 10;
  using Result = std::pair<boost::system::error_code, std::size_t>;

  asio::awaitable<Result> read(asio::mutable_buffer buf) {
    boost::system::error_code ec;
    auto n = co_await stream_.read_some(buf, ec);
    co_return Result{ec, n};
  }

  asio::awaitable<Result> write(std::string bytes) {
    boost::system::error_code ec;
    co_await stream_.write(bytes, ec);
    co_return Result{ec, ec ? 0 : bytes.size()};
  }

  // Runs `op` and hands its result to Beast's handler on the handler's executor (never
  // inline: the coroutine completes after the initiation returned).
  template <class Handler>
  void launch(Handler handler, asio::awaitable<Result> op) {
    auto ex = asio::get_associated_executor(handler, get_executor());
    asio::co_spawn(get_executor(), std::move(op),
                   [handler = std::move(handler), ex](std::exception_ptr e, Result r) mutable {
                     if (e) r = Result{asio::error::fault, 0};
                     asio::dispatch(ex, [handler = std::move(handler), r]() mutable { handler(r.first, r.second); });
                   });
  }

  net::Stream& stream_;
};

// Beast's closing handshake ends with a teardown of the layer below: the Stream's own
// shutdown (our close_notify on TLS, then the socket's FIN).
template <class Handler>
void async_teardown(beast::role_type, StreamIo& io, Handler&& handler) {
  auto ex = asio::get_associated_executor(handler, io.get_executor());
  asio::co_spawn(io.get_executor(), io.stream().shutdown(),
                 [handler = std::decay_t<Handler>(std::forward<Handler>(handler)), ex](std::exception_ptr) mutable {
                   asio::dispatch(ex, [handler = std::move(handler)]() mutable { handler(boost::system::error_code{}); });
                 });
}

// Beast's idle timeout (no pong in time) closes the lowest layer: the Stream's socket, which
// fails the read and write under way.
void beast_close_socket(StreamIo& io) { io.stream().close(); }

class BeastWebSocket final : public WebSocket {
 public:
  BeastWebSocket(net::Stream& stream, const WebSocketLimits& limits) : ws_(stream), stream_(stream), limits_(limits) {}

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
  ws::stream<StreamIo> ws_;
  net::Stream& stream_;
  WebSocketLimits limits_;
};

}  // namespace

asio::awaitable<void> run_websocket(net::Stream& stream, const beast::http::request<beast::http::string_body>& req,
                                    Upgrade& up, const std::string& log_name, const std::string& session) {
  BeastWebSocket socket(stream, up.limits);
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

}  // namespace mailstead::http

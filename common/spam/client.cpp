// The spamd client's I/O (see client.hpp): connect, write the request, half-close, read to
// EOF, parse. A timer closes the socket when the timeout passes, which ends every pending
// operation with an error.
#include "spam/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "config/source.hpp"

namespace mailstead::spam {

namespace asio = boost::asio;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// Writes, half-closes and reads the reply on a connected socket.
template <class Socket>
asio::awaitable<Exchange> talk(Socket& socket, const std::string& request, const bool& timed_out) {
  Exchange out;
  auto [wec, written] = co_await asio::async_write(socket, asio::buffer(request), tuple_awaitable);
  (void)written;
  if (wec) {
    out.error = timed_out ? "timeout" : "write: " + wec.message();
    co_return out;
  }
  boost::system::error_code sec;
  socket.shutdown(Socket::shutdown_send, sec);  // spamd reads to Content-length; this is for older ones
  std::string in;
  char buf[16384];
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), tuple_awaitable);
    in.append(buf, n);
    bool eof = ec == asio::error::eof;
    if (ec && !eof) {
      out.error = timed_out ? "timeout" : "read: " + ec.message();
      co_return out;
    }
    auto parsed = parse_reply(in, eof);
    if (auto* r = std::get_if<Reply>(&parsed)) {
      out.reply = std::move(*r);
      co_return out;
    }
    if (auto* e = std::get_if<ReplyError>(&parsed)) {
      out.error = "bad reply: " + e->why;
      co_return out;
    }
    if (eof) {
      out.error = "bad reply: connection closed early";
      co_return out;
    }
  }
}

template <class Socket>
struct State {
  explicit State(asio::any_io_executor ex) : socket(ex), timer(ex) {}
  Socket socket;
  asio::steady_timer timer;
  bool timed_out = false;
};

template <class Socket>
void arm(const std::shared_ptr<State<Socket>>& st, std::chrono::milliseconds timeout) {
  st->timer.expires_after(timeout);
  st->timer.async_wait([st](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the exchange ended in time
    st->timed_out = true;
    boost::system::error_code ignored;
    st->socket.close(ignored);
  });
}

}  // namespace

asio::awaitable<Exchange> exchange(const std::string& address, const std::string& request,
                                  std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  Exchange out;
  if (!address.empty() && address[0] == '/') {
    using Socket = asio::local::stream_protocol::socket;
    auto st = std::make_shared<State<Socket>>(ex);
    arm(st, timeout);
    asio::local::stream_protocol::endpoint ep(address);
    auto [ec] = co_await st->socket.async_connect(ep, tuple_awaitable);
    if (ec) {
      out.error = st->timed_out ? "timeout" : "connect: " + ec.message();
    } else {
      out = co_await talk(st->socket, request, st->timed_out);
    }
    out.timed_out = st->timed_out;
    st->timer.cancel();
    co_return out;
  }
  using Socket = asio::ip::tcp::socket;
  auto st = std::make_shared<State<Socket>>(ex);
  std::string host;
  std::uint16_t port = 0;
  if (!config::split_host_port(address, host, port)) {
    out.error = "bad spamd address";
    co_return out;
  }
  boost::system::error_code aec;
  auto ip = asio::ip::make_address(host, aec);
  arm(st, timeout);
  if (aec) {
    // A name (such as "spamd" on a compose network): resolved by Asio's resolver.
    asio::ip::tcp::resolver resolver(ex);
    std::string service = std::to_string(port);
    auto [rec, results] = co_await resolver.async_resolve(host, service, tuple_awaitable);
    if (rec || st->timed_out) {
      out.error = st->timed_out ? "timeout" : "resolve: " + rec.message();
    } else {
      auto [cec, ep] = co_await asio::async_connect(st->socket, results, tuple_awaitable);
      (void)ep;
      if (cec) out.error = st->timed_out ? "timeout" : "connect: " + cec.message();
    }
  } else {
    asio::ip::tcp::endpoint ep(ip, port);
    auto [cec] = co_await st->socket.async_connect(ep, tuple_awaitable);
    if (cec) out.error = st->timed_out ? "timeout" : "connect: " + cec.message();
  }
  if (out.error.empty()) out = co_await talk(st->socket, request, st->timed_out);
  out.timed_out = st->timed_out;
  st->timer.cancel();
  co_return out;
}

}  // namespace mailstead::spam

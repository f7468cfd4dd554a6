// One IMAPS connection to the polled mailbox (see imap_client.hpp).
#include "poll/imap_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

namespace mailstead::poll {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

Connection::Connection(asio::any_io_executor ex, asio::ssl::context& tls, const streams::Settings::Poll& settings)
    : st_(settings), stream_(ex, tls) {
  limits_.max_line = settings.max_line;
  // A FETCH of one message: its bytes and a little for what surrounds them.
  limits_.max_literal = settings.max_message_size + 64 * 1024;
  remote_ = settings.host + ":" + std::to_string(settings.port);
}

void Connection::close() {
  closed_ = true;
  beast::error_code ec;
  beast::get_lowest_layer(stream_).socket().close(ec);
}

asio::awaitable<std::string> Connection::open() {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto host = st_.host;
  auto port = std::to_string(st_.port);
  auto [rec, endpoints] = co_await resolver.async_resolve(host, port, tuple_awaitable);
  if (rec) co_return "cannot resolve " + st_.host + ": " + rec.message();
  auto& tcp_layer = beast::get_lowest_layer(stream_);
  tcp_layer.expires_after(st_.timeout);
  auto [cec, ep] = co_await tcp_layer.async_connect(endpoints, tuple_awaitable);
  if (cec) co_return "cannot connect to " + remote_ + ": " + (cec == beast::error::timeout ? "timed out" : cec.message());
  remote_ = st_.host + " [" + ep.address().to_string() + "]:" + std::to_string(ep.port());

  SSL* ssl = stream_.native_handle();
  boost::system::error_code ip_ec;
  asio::ip::make_address(st_.host, ip_ec);
  if (ip_ec) SSL_set_tlsext_host_name(ssl, st_.host.c_str());  // SNI names hosts, not addresses (RFC 6066 3)
  if (st_.verify) {
    // RFC 8314 4.2 / RFC 6125: the certificate chains to a trusted root and names the host.
    stream_.set_verify_mode(asio::ssl::verify_peer);
    stream_.set_verify_callback(asio::ssl::host_name_verification(st_.host));
  } else {
    stream_.set_verify_mode(asio::ssl::verify_none);
  }
  tcp_layer.expires_after(st_.timeout);
  auto [hec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
  if (hec) {
    std::string why = hec == beast::error::timeout ? "timed out" : hec.message();
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(v)) + ")";
    co_return "TLS with " + remote_ + " failed: " + why;
  }
  Frame greeting;
  if (auto e = co_await read_frame(greeting, st_.timeout); !e.empty()) co_return e;
  auto status = parse_status(greeting.text);
  if (!status || status->tag != "*" || (status->kind != "OK" && status->kind != "PREAUTH"))
    co_return "unexpected greeting from " + remote_ + ": " + greeting.text.substr(0, 200);
  learn(greeting);
  co_return "";
}

void Connection::learn(const Frame& f) {
  if (auto caps = parse_capability(f.text)) {
    caps_.clear();
    caps_.insert(caps->begin(), caps->end());
  }
}

asio::awaitable<std::string> Connection::read_frame(Frame& out, std::chrono::milliseconds timeout) {
  for (;;) {
    auto r = frame_response(buf_, limits_, out);
    if (r.status == FrameStatus::complete) {
      buf_.erase(0, r.consumed);
      co_return "";
    }
    if (r.status == FrameStatus::error) co_return remote_ + " sent " + r.error;
    char chunk[16384];
    beast::get_lowest_layer(stream_).expires_after(timeout);
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(chunk), tuple_awaitable);
    if (ec) {
      if (closed_) co_return "stopped";
      if (ec == beast::error::timeout) co_return remote_ + " did not answer within " + std::to_string(timeout.count() / 1000) + "s";
      co_return "reading from " + remote_ + " failed: " + ec.message();
    }
    buf_.append(chunk, n);
  }
}

asio::awaitable<std::string> Connection::write(std::string data) {
  beast::get_lowest_layer(stream_).expires_after(st_.timeout);
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(data), tuple_awaitable);
  (void)n;
  if (ec) co_return closed_ ? "stopped" : "writing to " + remote_ + " failed: " + ec.message();
  co_return "";
}

asio::awaitable<Reply> Connection::command(std::string command, bool secret) {
  Reply reply;
  std::string tag = "m" + std::to_string(next_tag_++);
  std::string line = tag + " " + command + "\r\n";
  if (auto e = co_await write(std::move(line)); !e.empty()) {
    reply.error = e;
    co_return reply;
  }
  for (;;) {
    Frame f;
    if (auto e = co_await read_frame(f, st_.timeout); !e.empty()) {
      reply.error = e;
      co_return reply;
    }
    if (f.text.starts_with("+")) {
      // We never send a synchronizing literal, so nothing asked to continue.
      reply.error = remote_ + " asked for a continuation nobody wanted";
      co_return reply;
    }
    auto st = parse_status(f.text);
    if (st && st->tag == tag) {
      if (!secret || st->kind == "OK") learn(f);
      reply.status = std::move(*st);
      co_return reply;
    }
    if (st && st->tag == "*" && st->kind == "BYE") {
      reply.error = remote_ + " closed the connection: " + st->text.substr(0, 200);
      co_return reply;
    }
    if (st && st->tag != "*") {
      reply.error = remote_ + " answered with tag " + st->tag.substr(0, 20) + " to " + tag;
      co_return reply;
    }
    learn(f);
    if (reply.untagged.size() >= 100000) {
      reply.error = remote_ + " sent too many untagged responses";
      co_return reply;
    }
    reply.untagged.push_back(std::move(f));
  }
}

asio::awaitable<std::string> Connection::idle(std::chrono::milliseconds limit) {
  std::string tag = "m" + std::to_string(next_tag_++);
  std::string idle_command = tag + " IDLE\r\n";
  if (auto e = co_await write(std::move(idle_command)); !e.empty()) co_return e;
  Frame f;
  if (auto e = co_await read_frame(f, st_.timeout); !e.empty()) co_return e;
  if (!f.text.starts_with("+")) {
    co_return remote_ + " refused IDLE: " + f.text.substr(0, 200);
  }
  // RFC 2177 3: the client ends IDLE with DONE. A timer sends it when `limit` passes while
  // the read below waits; the read's own deadline is past that, so only a dead server ends it.
  struct State {
    bool done_sent = false;
  };
  auto state = std::make_shared<State>();
  auto self = shared_from_this();
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex);
  timer->expires_after(limit);
  timer->async_wait([self, state, timer](const boost::system::error_code& ec) {
    if (ec || state->done_sent || self->closed_) return;
    state->done_sent = true;
    auto done = std::make_shared<std::string>("DONE\r\n");
    asio::async_write(self->stream_, asio::buffer(*done), [self, done](const boost::system::error_code&, std::size_t) {});
  });
  struct Cancel {
    std::shared_ptr<asio::steady_timer> t;
    ~Cancel() { t->cancel(); }
  } cancel{timer};
  for (;;) {
    Frame r;
    if (auto e = co_await read_frame(r, limit + st_.timeout); !e.empty()) co_return e;
    auto st = parse_status(r.text);
    if (st && st->tag == tag) co_return st->kind == "OK" ? "" : remote_ + " ended IDLE with " + st->kind + " " + st->text;
    if (st && st->tag == "*" && st->kind == "BYE") co_return remote_ + " closed the connection: " + st->text.substr(0, 200);
    auto t = r.text;
    for (auto& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    bool change = t.ends_with(" EXISTS") || t.ends_with(" EXPUNGE") || t.ends_with(" RECENT");
    if (change && !state->done_sent) {
      state->done_sent = true;
      timer->cancel();
      std::string done = "DONE\r\n";
      if (auto e = co_await write(std::move(done)); !e.empty()) co_return e;
    }
  }
}

}  // namespace mailstead::poll

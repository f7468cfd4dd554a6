// Plain/TLS connection with a deadline watchdog.
#include "net/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <zlib.h>

#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace mailstead::net {

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
}

Stream::Stream(tcp::socket socket)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      idle_deadline_(std::chrono::steady_clock::now() + std::chrono::minutes(5)),
      armed_(idle_deadline_) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) peer_ = ep.address().to_string();
  socket_.set_option(tcp::no_delay(true), ec);
}

Stream::~Stream() {
  *alive_ = false;
  timer_.cancel();
}

void Stream::start_watchdog() {
  asio::co_spawn(socket_.get_executor(), watchdog(), asio::detached);
}

asio::awaitable<void> Stream::watchdog() {
  auto alive = alive_;
  while (*alive) {
    timer_.expires_at(armed_);
    auto [ec] = co_await timer_.async_wait(tuple_awaitable);
    if (!*alive) co_return;
    armed_ = limit();
    if (std::chrono::steady_clock::now() >= armed_) {
      timed_out_ = true;
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.close(ignored);
      co_return;
    }
    (void)ec;  // cancelled because a limit moved: wait again
  }
}

std::chrono::steady_clock::time_point Stream::limit() const {
  auto t = idle_deadline_;
  if (in_phase_ && waits_ > 0) t = std::min(t, wait_started_ + phase_left_);
  return t;
}

void Stream::rearm() {
  auto next = limit();
  bool earlier = next < armed_;
  armed_ = next;
  if (earlier) timer_.cancel();  // the watchdog re-arms at the new, earlier time
}

void Stream::expires_after(std::chrono::steady_clock::duration d) {
  idle_deadline_ = std::chrono::steady_clock::now() + d;
  rearm();
}

void Stream::begin_phase(std::chrono::steady_clock::duration budget) {
  in_phase_ = true;
  phase_left_ = budget;
  if (waits_ > 0) wait_started_ = std::chrono::steady_clock::now();
  rearm();
}

void Stream::extend_phase(std::chrono::steady_clock::duration more) {
  phase_left_ += more;
  rearm();
}

void Stream::end_phase() {
  in_phase_ = false;
  rearm();
}

struct Stream::Waiting {
  explicit Waiting(Stream& s) : stream(s) {
    if (stream.waits_++ == 0) {
      stream.wait_started_ = std::chrono::steady_clock::now();
      stream.rearm();
    }
  }
  ~Waiting() {
    if (--stream.waits_ == 0 && stream.in_phase_) {
      stream.phase_left_ -= std::chrono::steady_clock::now() - stream.wait_started_;
      stream.rearm();
    }
  }
  Stream& stream;
};

struct Stream::Zip {
  z_stream def{}, inf{};
  std::string pending;  // inflated bytes not yet handed out
};

void Stream::enable_deflate() {
  auto* z = new Zip;
  deflateInit2(&z->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -10, 1, Z_DEFAULT_STRATEGY);
  inflateInit2(&z->inf, -15);
  zip_ = std::unique_ptr<Zip, void (*)(Zip*)>(z, [](Zip* p) {
    deflateEnd(&p->def);
    inflateEnd(&p->inf);
    delete p;
  });
}

// Every session suspends here (or in store::async_commit) to wait for its peer: no store
// transaction may be open on the thread then (docs/architecture.md, "Serving").
asio::awaitable<std::size_t> Stream::read_some(asio::mutable_buffer buf, boost::system::error_code& ec) {
  store::no_transaction_open("net.read");
  if (!zip_) co_return co_await raw_read(buf, ec);
  auto& z = *zip_;
  while (z.pending.empty()) {
    char in[8192];
    auto n = co_await raw_read(asio::buffer(in), ec);
    if (ec) co_return 0;
    z.inf.next_in = reinterpret_cast<Bytef*>(in);
    z.inf.avail_in = static_cast<uInt>(n);
    while (z.inf.avail_in > 0) {
      char out[16384];
      z.inf.next_out = reinterpret_cast<Bytef*>(out);
      z.inf.avail_out = sizeof out;
      int rc = inflate(&z.inf, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
        ec = asio::error::invalid_argument;  // corrupt compressed data: end the session
        co_return 0;
      }
      z.pending.append(out, sizeof out - z.inf.avail_out);
      if (rc == Z_BUF_ERROR) break;
    }
  }
  auto n = std::min(buf.size(), z.pending.size());
  std::memcpy(buf.data(), z.pending.data(), n);
  z.pending.erase(0, n);
  co_return n;
}

asio::awaitable<void> Stream::write(std::string_view data, boost::system::error_code& ec) {
  store::no_transaction_open("net.write");
  if (!zip_) co_return co_await raw_write(data, ec);
  auto& d = zip_->def;
  std::string out;
  d.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  d.avail_in = static_cast<uInt>(data.size());
  do {
    char chunk[16384];
    d.next_out = reinterpret_cast<Bytef*>(chunk);
    d.avail_out = sizeof chunk;
    deflate(&d, Z_SYNC_FLUSH);  // each write decodable on its own (RFC 4978 4)
    out.append(chunk, sizeof chunk - d.avail_out);
  } while (d.avail_out == 0);
  co_await raw_write(out, ec);
}

asio::awaitable<std::size_t> Stream::raw_read(asio::mutable_buffer buf, boost::system::error_code& ec) {
  Waiting waiting(*this);
  if (tls_) {
    auto [e, n] = co_await tls_->async_read_some(buf, tuple_awaitable);
    ec = e;
    co_return n;
  }
  auto [e, n] = co_await socket_.async_read_some(buf, tuple_awaitable);
  ec = e;
  co_return n;
}

asio::awaitable<void> Stream::raw_write(std::string_view data, boost::system::error_code& ec) {
  Waiting waiting(*this);
  if (tls_) {
    auto [e, n] = co_await asio::async_write(*tls_, asio::buffer(data), tuple_awaitable);
    ec = e;
    co_return;
  }
  auto [e, n] = co_await asio::async_write(socket_, asio::buffer(data), tuple_awaitable);
  ec = e;
}

namespace {
// Server-side TLS handshakes of every protocol, by result (docs/metrics.md).
struct TlsHandshakes {
  metrics::Counter& ok = metrics::process().counter("mailstead_tls_handshakes_total",
                                                    "Server TLS handshakes (implicit TLS and STARTTLS), by result",
                                                    {{"result", "ok"}});
  metrics::Counter& failed = metrics::process().counter("mailstead_tls_handshakes_total", "", {{"result", "failed"}});
};
TlsHandshakes& tls_handshakes() {
  static TlsHandshakes counts;
  return counts;
}
}  // namespace

asio::awaitable<void> Stream::handshake(asio::ssl::context& ctx, std::chrono::steady_clock::duration limit,
                                       boost::system::error_code& ec) {
  // One limit for the whole handshake, set once: bytes trickling in never move it.
  store::no_transaction_open("net.handshake");
  expires_after(limit);
  Waiting waiting(*this);
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, ctx);
  auto [e] = co_await tls_->async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
  ec = e;
  ++(e ? tls_handshakes().failed : tls_handshakes().ok);
}

asio::awaitable<void> Stream::shutdown() {
  boost::system::error_code ec;
  if (tls_) {
    expires_after(std::chrono::seconds(2));
    co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }
  socket_.shutdown(tcp::socket::shutdown_both, ec);
}

void Stream::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

std::string Stream::tls_version() const {
  return tls_ ? SSL_get_version(tls_->native_handle()) : "";
}

std::string Stream::tls_cipher() const {
  return tls_ ? SSL_CIPHER_get_name(SSL_get_current_cipher(tls_->native_handle())) : "";
}

}  // namespace mailstead::net

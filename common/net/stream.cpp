// Plain/TLS connection with a deadline watchdog.
#include "net/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <zlib.h>

#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace mailstead::net {

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// OpenSSL's I/O on the session's non-blocking socket: recv/send, with MSG_NOSIGNAL so a
// peer gone away is an error, never a SIGPIPE (BIO_s_socket writes with write(2)).
int fd_of(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  auto n = ::send(fd_of(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  auto n = ::recv(fd_of(b), data, static_cast<std::size_t>(len), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "mailstead socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  return method;
}

boost::system::error_code ssl_error_code() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return asio::error::connection_reset;
  return {static_cast<int>(e), asio::error::get_ssl_category()};
}
}  // namespace

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
  // Only a wait for the peer times out: the server's own work between waits (the store,
  // argon2id, a failure delay) never closes the connection (docs/security.md).
  if (waits_ == 0) return std::chrono::steady_clock::time_point::max();
  auto t = idle_deadline_;
  if (in_phase_) t = std::min(t, wait_started_ + phase_left_);
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
  co_return co_await read_inflated(buf, ec);
}

// Apart from read_some() so that its buffers are in this coroutine's frame only: every
// read of a plain or TLS session would otherwise allocate (and free) 24 KiB for them.
asio::awaitable<std::size_t> Stream::read_inflated(asio::mutable_buffer buf, boost::system::error_code& ec) {
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

bool Stream::readable_now() {
  if (zip_ && !zip_->pending.empty()) return true;
  if (ssl_ && SSL_has_pending(ssl_.get())) return true;  // decrypted or raw bytes OpenSSL holds
  boost::system::error_code ec;
  return socket_.available(ec) > 0 || ec;  // an error: the read reports it
}

asio::awaitable<void> Stream::wait_readable(boost::system::error_code& ec) {
  store::no_transaction_open("net.read");
  // Bytes already in the socket: asio's reactor is edge-triggered, and the edge for them may
  // have passed while nothing waited, so a wait now would sleep until more arrive. Checked
  // and then waited for on this thread, with no event harvested in between (one thread per
  // io_context), so nothing arrives unseen.
  if (readable_now()) co_return;
  Waiting waiting(*this);
  auto [e] = co_await socket_.async_wait(tcp::socket::wait_read, tuple_awaitable);
  ec = e;
}

asio::awaitable<void> Stream::write(std::string_view data, boost::system::error_code& ec) {
  store::no_transaction_open("net.write");
  if (!zip_) co_return co_await raw_write(data, ec);
  co_await write_deflated(data, ec);
}

// Apart from write(), as read_inflated() is from read_some().
asio::awaitable<void> Stream::write_deflated(std::string_view data, boost::system::error_code& ec) {
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

asio::awaitable<bool> Stream::tls_retry(int r, boost::system::error_code& ec) {
  switch (SSL_get_error(ssl_.get(), r)) {
    case SSL_ERROR_WANT_READ: {
      auto [e] = co_await socket_.async_wait(tcp::socket::wait_read, tuple_awaitable);
      ec = e;
      co_return !e;
    }
    case SSL_ERROR_WANT_WRITE: {
      auto [e] = co_await socket_.async_wait(tcp::socket::wait_write, tuple_awaitable);
      ec = e;
      co_return !e;
    }
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      ec = asio::error::eof;
      co_return false;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        // The connection ended without close_notify, or a socket error.
        ec = errno && r < 0 ? boost::system::error_code(errno, boost::system::system_category())
                            : boost::system::error_code(asio::ssl::error::stream_truncated);
        co_return false;
      }
      ec = ssl_error_code();
      co_return false;
    default:
      ec = ssl_error_code();
      co_return false;
  }
}

asio::awaitable<std::size_t> Stream::raw_read(asio::mutable_buffer buf, boost::system::error_code& ec) {
  Waiting waiting(*this);
  if (ssl_) {
    // Closed (the watchdog, close()): OpenSSL's BIO still holds the descriptor's number,
    // which the process may have given to another connection since.
    if (!socket_.is_open()) {
      ec = asio::error::bad_descriptor;
      co_return 0;
    }
    if (buf.size() == 0) co_return 0;
    for (;;) {
      ERR_clear_error();
      errno = 0;
      int r = SSL_read(ssl_.get(), buf.data(), static_cast<int>(std::min<std::size_t>(buf.size(), INT_MAX)));
      if (r > 0) co_return static_cast<std::size_t>(r);
      if (!co_await tls_retry(r, ec)) co_return 0;
    }
  }
  auto [e, n] = co_await socket_.async_read_some(buf, tuple_awaitable);
  ec = e;
  co_return n;
}

asio::awaitable<void> Stream::raw_write(std::string_view data, boost::system::error_code& ec) {
  Waiting waiting(*this);
  if (ssl_) {
    if (!socket_.is_open()) {  // as in raw_read: never write through a closed descriptor's number
      ec = asio::error::bad_descriptor;
      co_return;
    }
    std::size_t off = 0;
    while (off < data.size()) {
      ERR_clear_error();
      errno = 0;
      int r = SSL_write(ssl_.get(), data.data() + off, static_cast<int>(std::min<std::size_t>(data.size() - off, INT_MAX)));
      if (r > 0) {
        off += static_cast<std::size_t>(r);
        continue;
      }
      if (!co_await tls_retry(r, ec)) co_return;
    }
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
  ssl_.reset(SSL_new(ctx.native_handle()));
  BIO* bio = ssl_ ? BIO_new(socket_method()) : nullptr;
  if (!bio) {
    ssl_.reset();
    ec = asio::error::no_memory;
    ++tls_handshakes().failed;
    co_return;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(socket_.native_handle())));
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // one reference, for both directions
  SSL_set_accept_state(ssl_.get());
  socket_.non_blocking(true, ec);
  while (!ec) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) break;
    if (!co_await tls_retry(r, ec) && !ec) ec = asio::ssl::error::stream_truncated;
  }
  ++(ec ? tls_handshakes().failed : tls_handshakes().ok);
  if (ec && ec.category() == asio::error::get_ssl_category() && socket_.is_open()) co_await drain_refused();
}

asio::awaitable<void> Stream::drain_refused() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);  // after OpenSSL's alert
  expires_after(std::chrono::seconds(1));
  std::array<char, 1024> sink;
  for (std::size_t total = 0; !ec && total < 64 * 1024;) {
    auto [e, n] = co_await socket_.async_read_some(asio::buffer(sink), tuple_awaitable);
    ec = e;
    total += n;
  }
}

asio::awaitable<void> Stream::shutdown() {
  boost::system::error_code ec;
  if (ssl_ && socket_.is_open() && SSL_is_init_finished(ssl_.get())) {
    // Our close_notify, without waiting for the peer's (RFC 8446 6.1 allows closing the
    // connection then): the session is over, only the alert is owed. A full socket buffer
    // (a client that stopped reading) gives up at once.
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  co_return;
}

void Stream::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

std::string Stream::tls_version() const {
  return ssl_ ? SSL_get_version(ssl_.get()) : "";
}

std::string Stream::tls_cipher() const {
  return ssl_ ? SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_.get())) : "";
}

}  // namespace mailstead::net

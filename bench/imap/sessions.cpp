// IMAPS session load for bench/imap/run.py: many sessions from one process, so the bench
// measures the server and not its client (the Python client opened ~4 sessions a second
// on a loaded machine).
//
//   bench-imap-sessions hold    --port P --user U --password W --count N [--concurrency C]
//                               [--sources K] [--mailbox M]
//     Opens N sessions (TLS, LOGIN, SELECT M, IDLE) with at most C handshakes in flight,
//     prints "opened n seconds" every 1,000 and "ready N seconds" when all are in IDLE,
//     then holds them until its standard input closes (or a line arrives), closes them and
//     exits. Sessions bind to 127.0.0.1 ... 127.0.0.K in turn (ephemeral ports per source).
//
//   bench-imap-sessions connect --port P --user U --password W --count N [--concurrency C]
//                               [--sources K] [--resume]
//     Runs N sessions of connect, TLS, LOGIN, SELECT INBOX, LOGOUT over C sequential
//     workers; with --resume each worker offers its previous session's ticket. Prints
//     "done n seconds resumed errors".
//
// TLS runs OpenSSL directly on the non-blocking socket (no asio::ssl::stream and its
// buffers, SSL_MODE_RELEASE_BUFFERS), so 10,000 held sessions cost the client little.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <unistd.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode;
  unsigned short port = 0;
  std::string user, password, mailbox = "INBOX";
  int count = 1;
  int concurrency = 64;
  int sources = 1;
  bool resume = false;
};

struct Conn {
  explicit Conn(asio::io_context& io) : sock(io) {}
  ~Conn() {
    if (ssl) SSL_free(ssl);
  }
  tcp::socket sock;
  SSL* ssl = nullptr;
  std::string in;  // bytes read past the last line
  int tag = 0;
};

[[noreturn]] void fail(const std::string& what) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  std::string msg = what;
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += std::string(": ") + buf;
  }
  throw std::runtime_error(msg);
}

// Waits for what OpenSSL asked for after a call returned r; throws on a real error.
awaitable<void> wait_for(Conn& c, int r, const char* what) {
  int err = SSL_get_error(c.ssl, r);
  if (err == SSL_ERROR_WANT_READ) {
    co_await c.sock.async_wait(tcp::socket::wait_read, asio::use_awaitable);
  } else if (err == SSL_ERROR_WANT_WRITE) {
    co_await c.sock.async_wait(tcp::socket::wait_write, asio::use_awaitable);
  } else {
    fail(std::string(what) + " failed (SSL error " + std::to_string(err) + ")");
  }
}

awaitable<void> write_all(Conn& c, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    int r = SSL_write(c.ssl, data.data() + done, static_cast<int>(data.size() - done));
    if (r > 0) {
      done += static_cast<std::size_t>(r);
      continue;
    }
    co_await wait_for(c, r, "write");
  }
}

awaitable<std::string> read_line(Conn& c) {
  for (;;) {
    auto eol = c.in.find("\r\n");
    if (eol != std::string::npos) {
      std::string line = c.in.substr(0, eol);
      c.in.erase(0, eol + 2);
      co_return line;
    }
    char buf[4096];
    int r = SSL_read(c.ssl, buf, sizeof buf);
    if (r > 0) {
      c.in.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    if (SSL_get_error(c.ssl, r) == SSL_ERROR_ZERO_RETURN) fail("server closed the session");
    co_await wait_for(c, r, "read");
  }
}

// Sends a command and reads to its tagged reply, which must be OK.
awaitable<void> command(Conn& c, const std::string& text) {
  std::string tag = "a" + std::to_string(++c.tag);
  std::string line = tag + " " + text + "\r\n";
  co_await write_all(c, line);
  std::string prefix = tag + " ";
  for (;;) {
    std::string reply = co_await read_line(c);
    if (reply.rfind(prefix, 0) != 0) continue;  // untagged data (no literals in these replies)
    if (reply.compare(prefix.size(), 2, "OK") != 0) fail("'" + text.substr(0, text.find(' ')) + "' answered: " + reply);
    co_return;
  }
}

// Connects from 127.0.0.(1 + source) and completes the TLS handshake, offering `session`.
awaitable<void> open(Conn& c, const Options& o, SSL_CTX* ctx, int source, SSL_SESSION* session) {
  c.sock.open(tcp::v4());
  auto from = asio::ip::make_address_v4((127u << 24) | static_cast<unsigned>(1 + source));
  tcp::endpoint local(from, 0);
  c.sock.bind(local);
  tcp::endpoint server(asio::ip::make_address_v4("127.0.0.1"), o.port);
  co_await c.sock.async_connect(server, asio::use_awaitable);
  c.sock.set_option(tcp::no_delay(true));
  c.sock.non_blocking(true);
  c.ssl = SSL_new(ctx);
  if (!c.ssl || SSL_set_fd(c.ssl, c.sock.native_handle()) != 1) fail("SSL_new");
  if (session) SSL_set_session(c.ssl, session);
  for (;;) {
    int r = SSL_connect(c.ssl);
    if (r == 1) break;
    co_await wait_for(c, r, "handshake");
  }
  std::string greeting = co_await read_line(c);
  if (greeting.rfind("* OK", 0) != 0) fail("greeting: " + greeting);
  std::string login = "LOGIN \"" + o.user + "\" \"" + o.password + "\"";
  co_await command(c, login);
}

struct Run {
  Options o;
  SSL_CTX* ctx = nullptr;
  int next = 0;    // sessions started
  int done = 0;    // sessions finished (held or closed)
  int resumed = 0;
  int errors = 0;
  std::string first_error;
  Clock::time_point t0 = Clock::now();
  std::vector<std::unique_ptr<Conn>> held;

  double seconds() const { return std::chrono::duration<double>(Clock::now() - t0).count(); }
  void error(const std::exception& e) {
    if (errors++ == 0) first_error = e.what();
  }
};

awaitable<void> hold_worker(Run& run, asio::io_context& io) {
  while (run.next < run.o.count) {
    int i = run.next++;
    auto c = std::make_unique<Conn>(io);
    try {
      co_await open(*c, run.o, run.ctx, i % run.o.sources, nullptr);
      std::string select = "SELECT \"" + run.o.mailbox + "\"";
      co_await command(*c, select);
      std::string idle = "a" + std::to_string(++c->tag) + " IDLE\r\n";
      co_await write_all(*c, idle);
      std::string cont = co_await read_line(*c);
      if (cont.rfind("+", 0) != 0) fail("IDLE answered: " + cont);
      run.held.push_back(std::move(c));
    } catch (const std::exception& e) {
      run.error(e);
    }
    if (++run.done % 1000 == 0) {
      std::printf("opened %d %.1f\n", run.done, run.seconds());
      std::fflush(stdout);
    }
  }
}

awaitable<void> connect_worker(Run& run, asio::io_context& io) {
  SSL_SESSION* prev = nullptr;
  while (run.next < run.o.count) {
    ++run.next;
    Conn c(io);
    try {
      co_await open(c, run.o, run.ctx, run.next % run.o.sources, run.o.resume ? prev : nullptr);
      if (SSL_session_reused(c.ssl)) ++run.resumed;
      std::string select = "SELECT INBOX";
      co_await command(c, select);
      if (run.o.resume) {
        // A TLS 1.3 ticket arrives after the handshake, read along with the replies.
        if (SSL_SESSION* s = SSL_get1_session(c.ssl)) {
          if (prev) SSL_SESSION_free(prev);
          prev = s;
        }
      }
      std::string logout = "LOGOUT";
      co_await command(c, logout);
      // close_notify, as a client should: OpenSSL marks the session of a connection freed
      // without it not resumable, and the next worker session would offer it in vain.
      SSL_shutdown(c.ssl);
      ERR_clear_error();
    } catch (const std::exception& e) {
      run.error(e);
    }
    ++run.done;
  }
  if (prev) SSL_SESSION_free(prev);
}

// Ends the hold when standard input closes or sends a line.
awaitable<void> wait_stdin(asio::io_context& io, Run& run) {
  asio::posix::stream_descriptor in(io, ::dup(0));
  char buf[64];
  try {
    co_await in.async_read_some(asio::buffer(buf), asio::use_awaitable);
  } catch (const std::exception&) {
  }
  std::printf("closing %zu\n", run.held.size());
  std::fflush(stdout);
  run.held.clear();
  io.stop();
}

int usage() {
  std::fprintf(stderr,
               "usage: bench-imap-sessions hold|connect --port P --user U --password W --count N "
               "[--concurrency C] [--sources K] [--mailbox M] [--resume]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  Options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--port") o.port = static_cast<unsigned short>(std::stoi(value()));
      else if (a == "--user") o.user = value();
      else if (a == "--password") o.password = value();
      else if (a == "--mailbox") o.mailbox = value();
      else if (a == "--count") o.count = std::stoi(value());
      else if (a == "--concurrency") o.concurrency = std::stoi(value());
      else if (a == "--sources") o.sources = std::stoi(value());
      else if (a == "--resume") o.resume = true;
      else return usage();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return usage();
    }
  }
  if ((o.mode != "hold" && o.mode != "connect") || !o.port || o.count < 1 || o.concurrency < 1 || o.sources < 1 ||
      o.sources > 254)
    return usage();

  Run run;
  run.o = o;
  run.ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(run.ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(run.ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(run.ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);

  asio::io_context io(1);
  int workers = std::min(o.concurrency, o.count);
  for (int w = 0; w < workers; ++w) {
    if (o.mode == "hold")
      asio::co_spawn(io, hold_worker(run, io), asio::detached);
    else
      asio::co_spawn(io, connect_worker(run, io), asio::detached);
  }
  // Run until every session is open (hold) or done (connect).
  while (run.done < o.count && !io.stopped()) io.run_one();
  if (o.mode == "connect") {
    std::printf("done %d %.3f %d %d\n", run.done, run.seconds(), run.resumed, run.errors);
  } else {
    std::printf("ready %zu %.1f %d\n", run.held.size(), run.seconds(), run.errors);
  }
  if (run.errors) std::fprintf(stderr, "%d sessions failed, the first: %s\n", run.errors, run.first_error.c_str());
  std::fflush(stdout);
  if (o.mode == "hold") {
    io.restart();
    asio::co_spawn(io, wait_stdin(io, run), asio::detached);
    io.run();
  }
  SSL_CTX_free(run.ctx);
  return run.errors ? 1 : 0;
}

// The session loop: greeting, reading command lines, the command table, flushing replies
// when the client waits (RFC 2920 3.1), error and connection limits.
#include "session/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "log/log.hpp"
#include "proto/input.hpp"
#include "util/text.hpp"

namespace mailstead::smtp {

namespace {
// Replies held back while a pipelined group is still arriving, at most (bytes).
constexpr std::size_t max_pending_replies = 8192;

// Read buffers of this thread's sessions, lent for one read: a 16 KiB array in receive()'s
// coroutine frame was a malloc and free of that size per read. A session waiting for its
// client holds none (a session lives on one thread, so the pool needs no lock).
constexpr std::size_t read_buffer_size = 16384;
struct ReadBuffer {
  ReadBuffer() {
    if (pool().empty()) {
      data = std::make_unique_for_overwrite<char[]>(read_buffer_size);
    } else {
      data = std::move(pool().back());
      pool().pop_back();
    }
  }
  ~ReadBuffer() {
    if (pool().size() < 8) pool().push_back(std::move(data));
  }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  // Not inlined: the thread's pool is looked up at each use, never kept in a coroutine
  // frame across a suspension (a frame destroyed at shutdown may be on another thread).
  [[gnu::noinline]] static std::vector<std::unique_ptr<char[]>>& pool() {
    thread_local std::vector<std::unique_ptr<char[]>> buffers;
    return buffers;
  }
  std::unique_ptr<char[]> data;
};
}  // namespace

const char* port_name(Port p) {
  switch (p) {
    case Port::mx: return "mx";
    case Port::submission: return "submission";
    case Port::submissions: return "submissions";
  }
  return "?";
}

Session::Session(Shared& shared, asio::ip::tcp::socket socket, Port port)
    : shared_(shared), stream_(std::make_unique<net::Stream>(std::move(socket))), port_(port), id_(new_session_id()) {
  peer_ = stream_->peer_address();
}

void Session::send(int code, std::string_view enhanced, std::string_view text) {
  auto r = reply(code, enhanced, text);
  log_line("out", r);
  out_ += r;
}

void Session::send_error(int code, std::string_view enhanced, std::string_view text) {
  ++errors_;
  send(code, enhanced, text);
  if (errors_ >= shared_.settings.max_errors) {
    send(421, "4.7.0", "Too many errors, closing connection");
    log::info("smtp.too_many_errors", {{"session", id_}, {"peer", peer_}, {"errors", errors_}});
    quit_ = true;
  }
}

void Session::log_line(const char* dir, std::string_view line) {
  if (!shared_.core.log.protocol_trace) return;
  std::string l(line.substr(0, line.find_last_not_of("\r\n") + 1));
  // Never the payload of an AUTH exchange.
  if (l.size() > 5 && (l.rfind("AUTH ", 0) == 0 || l.rfind("auth ", 0) == 0)) l = l.substr(0, l.find(' ', 5)) + " <redacted>";
  log::info("smtp.trace", {{"session", id_}, {"dir", dir}, {"line", l}});
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  boost::system::error_code ec;
  stream_->expires_after(shared_.settings.command_timeout);
  co_await stream_->write(out_, ec);
  out_.clear();
  co_return !ec;
}

asio::awaitable<bool> Session::read_more(std::chrono::milliseconds timeout) {
  // Replies go out when the client is about to wait for them (RFC 2920 3.1): not while more
  // of its pipelined group is already here (a group can take more than one read), so the
  // replies to a group leave in one write; a client that never stops sending is answered
  // once max_pending_replies bytes of replies are owed.
  // (With no replies owed there is nothing to decide: wait_readable() looks itself.)
  bool more_here = !out_.empty() && stream_->readable_now();
  if ((!more_here || out_.size() >= max_pending_replies) && !co_await flush()) co_return false;
  boost::system::error_code ec;
  stream_->expires_after(timeout);
  // No read buffer is held while the client is silent: it is receive()'s, for the read.
  if (!more_here) co_await stream_->wait_readable(ec);
  if (!ec) co_await receive(ec);
  if (ec) {
    if (stream_->timed_out()) {
      log::info("smtp.timeout", {{"session", id_}, {"peer", peer_}});
      // Best effort: the socket is closed already.
    }
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Session::receive(boost::system::error_code& ec) {
  ReadBuffer buf;
  auto n = co_await stream_->read_some(asio::buffer(buf.data.get(), read_buffer_size), ec);
  if (!ec) in_.append(buf.data.get(), n);
}

asio::awaitable<std::optional<std::string>> Session::read_line() {
  // A command line (with any junk before it) must arrive whole within command_timeout
  // of waiting, however slowly it is trickled (docs/security.md, "Slow clients").
  stream_->begin_phase(shared_.settings.command_timeout);
  struct EndPhase {
    net::Stream& stream;
    ~EndPhase() { stream.end_phase(); }
  } end_phase{*stream_};
  for (;;) {
    if (quit_) co_return std::nullopt;
    if (skipping_line_) {
      auto lf = in_.find('\n');
      if (lf == std::string::npos) {
        in_.clear();
        if (!co_await read_more(shared_.settings.command_timeout)) co_return std::nullopt;
        continue;
      }
      in_.erase(0, lf + 1);
      skipping_line_ = false;
      send_error(500, "5.5.6", "Line too long");
      continue;
    }
    auto r = next_line(in_, shared_.settings.max_line_length);
    switch (r.status) {
      case LineStatus::line: {
        std::string line(r.line);
        in_.erase(0, r.consumed);
        log_line("in", line);
        co_return line;
      }
      case LineStatus::too_long:
        if (r.consumed == in_.size() && in_.back() != '\n') skipping_line_ = true;
        in_.erase(0, r.consumed);
        if (!skipping_line_) send_error(500, "5.5.6", "Line too long");
        continue;
      case LineStatus::bare_lf:
        in_.erase(0, r.consumed);
        send_error(500, "5.5.2", "Bare LF received: command lines must end with CRLF");
        continue;
      case LineStatus::need_more:
        if (!co_await read_more(shared_.settings.command_timeout)) co_return std::nullopt;
        continue;
    }
  }
}

asio::awaitable<void> Session::run() {
  stream_->start_watchdog();
  log::info("smtp.connect", {{"session", id_}, {"peer", peer_}, {"port", port_name(port_)}});
  if (port_ == Port::submissions) {
    boost::system::error_code ec;
    co_await stream_->handshake(shared_.tls, shared_.settings.tls_handshake_timeout, ec);
    if (ec) {
      log::info("smtp.tls.failed", {{"session", id_}, {"peer", peer_}, {"error", ec.message()}});
      co_return;
    }
  }
  if (inbound_admit()) {
    send(220, "", shared_.core.hostname + " ESMTP Mailstead");
  } else {
    send(421, "4.7.0", "Too many connections from your address in the last minute, try again later");
    quit_ = true;
  }
  while (!quit_) {
    auto line = co_await read_line();
    if (!line) break;
    auto parsed = parse_command(*line);
    if (auto* e = std::get_if<SyntaxError>(&parsed)) {
      send_error(e->code, e->enhanced, e->text);
      continue;
    }
    co_await dispatch(std::get<Command>(parsed));
  }
  co_await flush();
  co_await stream_->shutdown();
  log::info("smtp.disconnect", {{"session", id_}, {"peer", peer_}, {"messages", messages_}, {"errors", errors_}});
}

}  // namespace mailstead::smtp

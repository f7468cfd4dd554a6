// The IMAP session loop: greeting, command framing with literals (synchronising ones get
// "+"), the command table by state, and the commands valid in any state or before login.
#include "session.hpp"

#include <limits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/failure_limiter.hpp"
#include "auth/login.hpp"
#include "net/login_gate.hpp"
#include "log/log.hpp"
#include "mime/imap_structure.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace mailstead::imap {

namespace {
}  // namespace

Session::Session(Shared& shared, asio::ip::tcp::socket socket, bool implicit_tls)
    : shared_(shared),
      stream_(std::make_unique<net::Stream>(std::move(socket))),
      id_(new_session_id()),
      implicit_tls_(implicit_tls) {
  peer_ = stream_->peer_address();
}

std::string Session::capabilities() const {
  // Only what works (CLIENTS.md). IMAP4rev1 always; no IMAP4rev2 until it is complete.
  // Before login only LITERAL- (RFC 7888 5: non-synchronizing literals of up to 4,096
  // bytes), so an unauthenticated peer can make the server hold little.
  std::string c = std::string("IMAP4rev1 SASL-IR ") + (user_id_ ? "LITERAL+" : "LITERAL-") + " ID ENABLE IDLE";
  // Port 143 before STARTTLS: no way to log in (RFC 3501 6.2.1, LOGINDISABLED).
  if (!stream_->tls()) return c + " STARTTLS LOGINDISABLED";
  if (!user_id_) return c + " AUTH=PLAIN";
  return c + " NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS"
             " STATUS=SIZE ESEARCH SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES QUOTA QUOTA=RES-STORAGE"
             " CONDSTORE QRESYNC COMPRESS=DEFLATE BINARY MULTIAPPEND ESORT CONTEXT=SEARCH SEARCHRES CATENATE UTF8=ACCEPT APPENDLIMIT=" +
             std::to_string(shared_.settings.max_literal_size);
}

void Session::bad(const std::string& tag, std::string_view text) {
  ++errors_;
  tagged(tag, "BAD", text);
  if (errors_ >= shared_.settings.max_errors) {
    untagged("BYE Too many errors");
    logout_ = true;
  }
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  boost::system::error_code ec;
  stream_->expires_after(shared_.settings.idle_timeout);
  co_await stream_->write(out_, ec);
  // A large response's buffer is not kept by a session that may now idle for hours.
  if (out_.capacity() > 16384) std::string().swap(out_);
  else out_.clear();
  co_return !ec;
}

asio::awaitable<bool> Session::read_more(bool flush_first) {
  if (flush_first && !co_await flush()) co_return false;
  boost::system::error_code ec;
  if (user_id_) stream_->end_phase();  // logged in
  stream_->expires_after(user_id_ ? shared_.settings.idle_timeout : shared_.settings.login_timeout);
  // No read buffer is held while the client is silent (an idle session, IDLE): it is
  // receive()'s, for the read (docs/performance.md, "Memory with idle connections").
  co_await stream_->wait_readable(ec);
  if (!ec) co_await receive(ec);
  co_return !ec;
}

asio::awaitable<void> Session::receive(boost::system::error_code& ec) {
  char buf[16384];
  auto n = co_await stream_->read_some(asio::buffer(buf), ec);
  if (!ec) in_.append(buf, n);
}

asio::awaitable<std::optional<std::string>> Session::read_line(bool flush_first) {
  for (;;) {
    auto crlf = in_.find("\r\n");
    if (crlf != std::string::npos) {
      std::string line = in_.substr(0, crlf);
      in_.erase(0, crlf + 2);
      co_return line;
    }
    if (in_.size() > shared_.settings.max_line_length) co_return std::nullopt;
    if (!co_await read_more(flush_first)) co_return std::nullopt;
  }
}

Session::~Session() { shared_.literal_budget.release(literal_reserved_); }

std::string Session::tag_in_buffer() const {
  auto tag = std::string_view(in_).substr(0, std::min(in_.find(' '), in_.find("\r\n")));
  if (tag.empty() || tag.size() > 64) return "*";
  for (unsigned char c : tag)
    if (c <= ' ' || c >= 0x7f || std::string_view("(){\"\\]%*+").find(static_cast<char>(c)) != std::string_view::npos)
      return "*";
  return std::string(tag);
}

// A refused command's bytes are dropped as they arrive, never kept: first what is left of
// a non-synchronizing literal, then each line and the non-synchronizing literals it
// announces, until a line that announces none (or a synchronizing one, whose data the
// client sends only after a "+" it will not get) ends the command.
asio::awaitable<bool> Session::discard_command(std::size_t line_start, std::uint64_t literal_left) {
  in_.erase(0, line_start);
  for (;;) {
    while (literal_left) {
      auto n = std::min<std::uint64_t>(literal_left, in_.size());
      in_.erase(0, n);
      literal_left -= n;
      if (literal_left && !co_await read_more()) co_return false;
    }
    auto crlf = in_.find("\r\n");
    if (crlf == std::string::npos) {
      // Only a line's end can announce a literal: keep a tail long enough for "{n+}".
      if (in_.size() > 64) in_.erase(0, in_.size() - 64);
      if (!co_await read_more()) co_return false;
      continue;
    }
    auto f = frame(in_, 0, std::numeric_limits<std::size_t>::max());
    in_.erase(0, crlf + 2);
    if (f.status != Framing::Status::need_literal || f.synchronizing) co_return true;
    literal_left = f.literal;
  }
}

// Frames one command with its literals (RFC 9051 4.3, RFC 7888). Limits: the command's text
// outside its literals (max_line_length, all its lines together), each literal's size
// (max_literal_size; before login max_login_literal_size and only the two literals LOGIN
// needs, RFC 7888 LITERAL-), and the process's literal_budget. A refused command is read to
// its end without being kept, then answered; the session goes on, except after an oversized
// non-synchronizing literal, whose data is not worth reading (BYE).
asio::awaitable<std::optional<std::string>> Session::read_command() {
  const auto& st = shared_.settings;
  std::size_t scan = 0;   // where the current line starts
  std::size_t text = 0;   // bytes of the command's lines before the current one
  unsigned literals = 0;
  for (;;) {
    if (logout_) co_return std::nullopt;
    auto f = frame(in_, scan, st.max_line_length - std::min<std::size_t>(text, st.max_line_length));
    switch (f.status) {
      case Framing::Status::need_more:
        if (!co_await read_more()) co_return std::nullopt;
        continue;
      case Framing::Status::too_long: {
        // RFC 9051 7.1: BAD; the command is dropped and the session goes on.
        auto tag = tag_in_buffer();
        if (!co_await discard_command(scan, 0)) co_return std::nullopt;
        bad(tag, "[TOOBIG] Command line too long (the limit is " + std::to_string(st.max_line_length) +
                     " bytes outside literals)");
        scan = text = literals = 0;
        release_literals();
        continue;
      }
      case Framing::Status::need_literal: {
        auto tag = tag_in_buffer();
        std::uint64_t limit = user_id_ ? st.max_literal_size : st.max_login_literal_size;
        // Before login only LOGIN's user name and password may come as literals.
        bool too_many = !user_id_ && literals >= 2;
        std::string refusal;
        const char* status = "NO";
        if (f.literal > limit) {
          if (!f.synchronizing) {
            untagged("BYE [TOOBIG] Literal too large (the limit is " + std::to_string(limit) + " bytes)");
            logout_ = true;
            co_return std::nullopt;
          }
          refusal = "[TOOBIG] Literal too large (the limit is " + std::to_string(limit) + " bytes)";
        } else if (too_many) {
          status = "BAD";
          refusal = "Only LOGIN's two literals are accepted before login";
        } else if (!shared_.literal_budget.reserve(f.literal)) {
          refusal = "[UNAVAILABLE] The server holds too much data now; try again later";
          log::warn("imap.literal.budget", {{"session", id_}, {"peer", peer_}, {"literal", f.literal},
                                            {"in_use", shared_.literal_budget.used()}});
        } else {
          literal_reserved_ += f.literal;
        }
        if (!refusal.empty()) {
          // A synchronizing literal's data never comes (the client waits for a "+"), and the
          // command ends there; a non-synchronizing one's is dropped with the rest of the command.
          if (f.synchronizing) in_.erase(0, f.literal_at);
          else if (!co_await discard_command(f.literal_at, f.literal)) co_return std::nullopt;
          if (std::string_view(status) == "BAD") bad(tag, refusal);
          else tagged(tag, status, refusal);
          scan = text = literals = 0;
          release_literals();
          continue;
        }
        ++literals;
        text += f.literal_at - scan;
        if (f.synchronizing) {
          out_ += "+ Ready for literal data\r\n";
          if (!co_await flush()) co_return std::nullopt;
        }
        while (in_.size() < f.literal_at + f.literal)
          if (!co_await read_more()) co_return std::nullopt;
        scan = f.literal_at + f.literal;
        continue;
      }
      case Framing::Status::complete: {
        std::string cmd = in_.substr(0, f.end);
        in_.erase(0, f.end);
        co_return cmd;
      }
    }
  }
}

void Session::release_literals() {
  shared_.literal_budget.release(literal_reserved_);
  literal_reserved_ = 0;
}

asio::awaitable<bool> Session::start_tls() {
  boost::system::error_code ec;
  co_await stream_->handshake(shared_.tls, shared_.settings.tls_handshake_timeout, ec);
  if (ec) {
    log::info("imap.tls.failed", {{"session", id_}, {"peer", peer_}, {"error", ec.message()}});
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Session::run() {
  stream_->start_watchdog();
  // Before login, the client has login_timeout of waiting in all, however it trickles
  // its bytes (docs/security.md, "Slow clients").
  stream_->begin_phase(shared_.settings.login_timeout);
  log::info("imap.connect", {{"session", id_}, {"peer", peer_}});
  if (implicit_tls_ && !co_await start_tls()) co_return;
  untagged("OK [CAPABILITY " + capabilities() + "] Mailstead ready");
  while (!logout_) {
    auto text = co_await read_command();
    if (!text) break;
    auto parsed = parse_command(*text);
    text.reset();  // the tokens hold their own copy: keep one copy of a large APPEND, not two
    if (auto* e = std::get_if<ParseError>(&parsed)) {
      release_literals();
      bad(e->tag, e->text);
      continue;
    }
    co_await dispatch(std::get<Command>(parsed));
    release_literals();
  }
  co_await flush();
  co_await stream_->shutdown();
  log::info("imap.disconnect", {{"session", id_}, {"peer", peer_}, {"user", user_address_}});
}

asio::awaitable<void> Session::dispatch(Command& c) {
  const auto& n = c.name;
  auto need_auth = [&] {
    if (user_id_) return true;
    tagged(c.tag, "NO", "Log in first");
    return false;
  };
  auto need_selected = [&] {
    if (selected_) return true;
    bad(c.tag, "No mailbox selected");
    return false;
  };
  // any state
  if (n == "CAPABILITY") cmd_capability(c);
  else if (n == "NOOP" || n == "CHECK") {
    if (n == "CHECK" && !need_selected()) co_return;
    cmd_noop(c);
  } else if (n == "LOGOUT") {
    untagged("BYE Logging out");
    tagged(c.tag, "OK", "LOGOUT completed");
    logout_ = true;
  } else if (n == "ID") cmd_id(c);
  else if (n == "ENABLE") {
    if (need_auth()) cmd_enable(c);
  } else if (n == "STARTTLS") {
    if (stream_->tls()) co_return bad(c.tag, "TLS is already active");
    tagged(c.tag, "OK", "Begin TLS negotiation now");
    if (!co_await flush()) {
      logout_ = true;
      co_return;
    }
    // Anything pipelined after STARTTLS came in plain text: drop it (RFC 3501 6.2.1).
    in_.clear();
    if (!co_await start_tls()) logout_ = true;
  }
  // not authenticated
  else if (n == "LOGIN" || n == "AUTHENTICATE") {
    if (user_id_) {
      bad(c.tag, "Already logged in");
      co_return;
    }
    if (!stream_->tls()) {
      tagged(c.tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS first");
      co_return;
    }
    if (n == "LOGIN") co_await cmd_login(c);
    else co_await cmd_authenticate(c);
  }
  // authenticated
  else if (n == "NAMESPACE") { if (need_auth()) cmd_namespace(c); }
  else if (n == "LIST") { if (need_auth()) cmd_list(c, false); }
  else if (n == "LSUB") { if (need_auth()) cmd_list(c, true); }
  else if (n == "STATUS") { if (need_auth()) cmd_status(c); }
  else if (n == "SELECT" || n == "EXAMINE") { if (need_auth()) cmd_select(c, n == "EXAMINE"); }
  else if (n == "CREATE") { if (need_auth()) co_await cmd_create(c); }
  else if (n == "DELETE") { if (need_auth()) co_await cmd_delete(c); }
  else if (n == "RENAME") { if (need_auth()) co_await cmd_rename(c); }
  else if (n == "SUBSCRIBE" || n == "UNSUBSCRIBE") { if (need_auth()) co_await cmd_subscribe(c, n == "SUBSCRIBE"); }
  else if (n == "APPEND") { if (need_auth()) co_await cmd_append(c); }
  else if (n == "IDLE") { if (need_auth()) co_await cmd_idle(c); }
  else if (n == "COMPRESS") {
    if (!need_auth()) co_return;
    // RFC 4978: the OK goes out uncompressed; everything after it is deflated both ways.
    if (c.args.size() != 1 || !c.args[0].is_atom("DEFLATE")) co_return bad(c.tag, "Only COMPRESS DEFLATE is supported");
    if (stream_->deflating()) co_return tagged(c.tag, "NO", "[COMPRESSIONACTIVE] Already compressing");
    tagged(c.tag, "OK", "DEFLATE active");
    if (!co_await flush()) co_return;
    stream_->enable_deflate();
  }
  else if (n == "GETQUOTAROOT" || n == "GETQUOTA") { if (need_auth()) cmd_quota(c, n == "GETQUOTAROOT"); }
  // selected
  else if (n == "CLOSE" || n == "UNSELECT") {
    if (need_auth() && need_selected()) co_await cmd_close(c, n == "CLOSE");
  } else if (n == "EXPUNGE" || n == "UID EXPUNGE") {
    if (need_auth() && need_selected()) co_await cmd_expunge(c, n == "UID EXPUNGE");
  } else if (n == "FETCH" || n == "UID FETCH") {
    if (need_auth() && need_selected()) co_await cmd_fetch(c, n == "UID FETCH");
  } else if (n == "STORE" || n == "UID STORE") {
    if (need_auth() && need_selected()) co_await cmd_store(c, n == "UID STORE");
  } else if (n == "SEARCH" || n == "UID SEARCH") {
    if (need_auth() && need_selected()) cmd_search(c, n == "UID SEARCH");
  } else if (n == "CANCELUPDATE") {
    if (need_auth() && need_selected()) cmd_cancelupdate(c);
  } else if (n == "SORT" || n == "UID SORT") {
    if (need_auth() && need_selected()) cmd_sort(c, n == "UID SORT");
  } else if (n == "THREAD" || n == "UID THREAD") {
    if (need_auth() && need_selected()) cmd_thread(c, n == "UID THREAD");
  } else if (n == "COPY" || n == "UID COPY" || n == "MOVE" || n == "UID MOVE") {
    if (need_auth() && need_selected())
      co_await cmd_copy(c, n.starts_with("UID"), n.ends_with("MOVE"));
  } else {
    bad(c.tag, "Unknown command " + n);
  }
}

void Session::cmd_capability(Command& c) {
  untagged("CAPABILITY " + capabilities());
  tagged(c.tag, "OK", "CAPABILITY completed");
}

void Session::cmd_noop(Command& c) {
  if (selected_) refresh(true);
  tagged(c.tag, "OK", c.name + " completed");
}

void Session::cmd_id(Command& c) {
  // RFC 2971: the client's fields are logged; ours are name and vendor only.
  if (c.args.size() != 1 || !(c.args[0].is_nil() || c.args[0].kind == Token::Kind::list)) {
    bad(c.tag, "ID takes a list or NIL");
    return;
  }
  std::string client;
  if (c.args[0].kind == Token::Kind::list)
    for (std::size_t i = 0; i + 1 < c.args[0].items.size() && i < 60; i += 2)
      if (c.args[0].items[i].text == "name" || c.args[0].items[i].text == "version")
        client += (client.empty() ? "" : " ") + c.args[0].items[i + 1].text.substr(0, 64);
  if (!client.empty()) log::info("imap.id", {{"session", id_}, {"client", client}});
  untagged("ID (\"name\" \"Mailstead\" \"vendor\" \"Mailstead\")");
  tagged(c.tag, "OK", "ID completed");
}

void Session::enable_condstore() {
  // RFC 7162 3.1: a CONDSTORE enabling command issued while a mailbox is selected (FETCH
  // MODSEQ, SEARCH MODSEQ, ENABLE…) makes the server report the mailbox's HIGHESTMODSEQ,
  // which SELECT did not, before anything that carries a MODSEQ.
  if (condstore_) return;
  condstore_ = true;
  if (selected_) untagged("OK [HIGHESTMODSEQ " + std::to_string(selected_->highestmodseq) + "] Highest");
}

void Session::cmd_enable(Command& c) {
  // RFC 5161: report what this command newly enabled; unknown names are ignored.
  std::string enabled;
  for (const auto& a : c.args) {
    if (a.is_atom("CONDSTORE") && !condstore_) {
      enable_condstore();
      enabled += " CONDSTORE";
    } else if (a.is_atom("QRESYNC") && !qresync_) {
      qresync_ = true;
      if (!condstore_) enabled += " CONDSTORE";  // QRESYNC implies CONDSTORE (RFC 7162 3.2.3)
      enable_condstore();
      enabled += " QRESYNC";
    } else if (a.is_atom("UTF8=ACCEPT") && !utf8_) {
      utf8_ = true;  // RFC 6855 3
      enabled += " UTF8=ACCEPT";
    }
  }
  untagged("ENABLED" + enabled);
  tagged(c.tag, "OK", "ENABLE completed");
}

asio::awaitable<bool> Session::finish_login(const std::string& tag, const std::string& user, const std::string& password) {
  net::LoginGate gate{shared_.store, shared_.password_cache, shared_.auth_limiter, shared_.slow_pool,
                      shared_.core.auth.failure_delay};
  auto r = co_await net::gated_login(gate, "imap", id_, peer_, user, password);
  if (r.result == net::GateResult::throttled) {
    tagged(tag, "NO", "[UNAVAILABLE] Too many failed logins from your address; try again later");
    co_return false;
  }
  if (r.result == net::GateResult::failed) {
    tagged(tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
    co_return false;
  }
  user_id_ = r.login.user_id;
  user_address_ = r.login.address;
  logged_in_.emplace(counters().authenticated);
  tagged(tag, "OK", "[CAPABILITY " + capabilities() + "] Logged in");
  co_return true;
}

asio::awaitable<void> Session::cmd_login(Command& c) {
  if (c.args.size() != 2 || c.args[0].kind == Token::Kind::list || c.args[1].kind == Token::Kind::list) {
    bad(c.tag, "LOGIN takes a user name and a password");
    co_return;
  }
  co_await finish_login(c.tag, c.args[0].text, c.args[1].text);
}

asio::awaitable<void> Session::cmd_authenticate(Command& c) {
  if (c.args.empty() || c.args.size() > 2 || c.args[0].kind != Token::Kind::atom) {
    bad(c.tag, "AUTHENTICATE takes a mechanism and an optional initial response");
    co_return;
  }
  std::string mech = upper(c.args[0].text);
  if (mech != "PLAIN") {
    tagged(c.tag, "NO", "Unsupported authentication mechanism");
    co_return;
  }
  std::string b64;
  if (c.args.size() == 2) {
    b64 = c.args[1].text == "=" ? "" : c.args[1].text;  // SASL-IR (RFC 4959)
  } else {
    out_ += "+ \r\n";
    auto line = co_await read_line();
    if (!line) {
      logout_ = true;
      co_return;
    }
    if (*line == "*") {
      bad(c.tag, "Authentication cancelled");
      co_return;
    }
    b64 = *line;
  }
  auto decoded = base64_decode(b64);
  auto first = decoded ? decoded->find('\0') : std::string::npos;
  auto second = first == std::string::npos ? std::string::npos : decoded->find('\0', first + 1);
  if (second == std::string::npos) {
    bad(c.tag, "Cannot decode the PLAIN response");
    co_return;
  }
  auto authz = decoded->substr(0, first);
  auto user = decoded->substr(first + 1, second - first - 1);
  if (!authz.empty() && authz != user) {
    tagged(c.tag, "NO", "[AUTHORIZATIONFAILED] Authorization identity must match the login");
    co_return;
  }
  co_await finish_login(c.tag, user, decoded->substr(second + 1));
}

void Session::cmd_namespace(Command& c) {
  untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
  tagged(c.tag, "OK", "NAMESPACE completed");
}

}  // namespace mailstead::imap

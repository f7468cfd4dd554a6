#include "session.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "log/log.hpp"
#include "net/login_gate.hpp"
#include "sieve/delivery.hpp"
#include "sieve/sieve.hpp"
#include "sieve/storage.hpp"
#include "store/async.hpp"
#include "store/store.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace mailstead::managesieve {

Session::Session(Shared& shared, asio::ip::tcp::socket socket)
    : shared_(shared), stream_(std::make_unique<net::Stream>(std::move(socket))), id_(new_session_id()) {
  peer_ = stream_->peer_address();
}

std::string Session::capabilities() const {
  std::string c;
  c += "\"IMPLEMENTATION\" \"Mailstead\"\r\n";
  // SASL only once TLS is on: before it, STARTTLS is the way forward (RFC 5804 1.7).
  c += stream_->tls() ? "\"SASL\" \"PLAIN\"\r\n" : "\"SASL\" \"\"\r\n";
  c += "\"SIEVE\" " + quoted(sieve::extensions_text()) + "\r\n";
  if (!stream_->tls()) c += "\"STARTTLS\"\r\n";
  c += "\"NOTIFY\" \"mailto\"\r\n";
  c += "\"MAXREDIRECTS\" \"" + std::to_string(shared_.core.sieve.max_redirects) + "\"\r\n";
  if (user_id_) c += "\"OWNER\" " + quoted(user_address_) + "\r\n";
  c += "\"VERSION\" \"1.0\"\r\n";
  return c;
}

void Session::reply(std::string_view status, std::string_view code, std::string_view text) {
  out_ += status;
  if (!code.empty()) {
    out_ += " (";
    out_ += code;
    out_ += ")";
  }
  if (!text.empty()) out_ += " " + string_out(text);
  out_ += "\r\n";
}

void Session::bad(std::string_view text) {
  reply("NO", "", text);
  if (++errors_ >= shared_.settings.max_errors) {
    reply("BYE", "", "Too many errors");
    logout_ = true;
  }
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  boost::system::error_code ec;
  stream_->expires_after(shared_.settings.idle_timeout);
  co_await stream_->write(out_, ec);
  out_.clear();
  co_return !ec;
}

asio::awaitable<bool> Session::read_more() {
  if (!co_await flush()) co_return false;
  char buf[16384];
  boost::system::error_code ec;
  if (user_id_) stream_->end_phase();  // logged in
  stream_->expires_after(user_id_ ? shared_.settings.idle_timeout : shared_.settings.login_timeout);
  auto n = co_await stream_->read_some(asio::buffer(buf), ec);
  if (ec) co_return false;
  in_.append(buf, n);
  co_return true;
}

asio::awaitable<std::optional<std::string>> Session::read_command() {
  // A literal may be as large as a script may be, plus room for the command itself.
  auto max_literal = shared_.core.sieve.max_script_size + 1024;
  for (;;) {
    auto f = frame(in_, shared_.settings.max_line_length, max_literal);
    switch (f.status) {
      case Frame::Status::need_more:
        if (!co_await read_more()) co_return std::nullopt;
        continue;
      case Frame::Status::too_long:
        reply("BYE", "", "Command line too long");
        co_return std::nullopt;
      case Frame::Status::too_big:
        // The client is already sending ({n+}): we cannot skip reliably, so say why and close.
        reply("BYE", "QUOTA/MAXSIZE", "Literal larger than the largest script allowed");
        co_return std::nullopt;
      case Frame::Status::complete: {
        std::string cmd = in_.substr(0, f.end);
        in_.erase(0, f.end);
        co_return cmd;
      }
    }
  }
}

asio::awaitable<void> Session::run() {
  stream_->start_watchdog();
  // Before login, the client has login_timeout of waiting in all, however it trickles
  // its bytes (docs/security.md, "Slow clients").
  stream_->begin_phase(shared_.settings.login_timeout);
  log::info("sieve.connect", {{"session", id_}, {"peer", peer_}});
  out_ += capabilities();
  reply("OK", "", "Mailstead ManageSieve ready");
  while (!logout_) {
    auto text = co_await read_command();
    if (!text) break;
    auto parsed = parse(*text);
    if (auto* e = std::get_if<std::string>(&parsed)) {
      bad(*e);
      continue;
    }
    co_await dispatch(std::get<Command>(parsed));
  }
  co_await flush();
  co_await stream_->shutdown();
  log::info("sieve.disconnect", {{"session", id_}, {"peer", peer_}, {"user", user_address_}});
}

asio::awaitable<bool> Session::commit(std::function<std::error_code(store::WriteTxn&)> fn) {
  auto ec = co_await store::async_commit(shared_.store, std::move(fn), asio::use_awaitable);
  if (ec) {
    log::error("sieve.store.failed", {{"session", id_}, {"error", ec.message()}});
    reply("NO", "TRYLATER", "Could not save; try again later");
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Session::dispatch(Command& c) {
  const auto& n = c.name;
  auto args = [&](std::size_t count, const char* usage) {
    if (c.args.size() == count) return true;
    bad(usage);
    return false;
  };
  if (n == "CAPABILITY") {
    if (!args(0, "CAPABILITY takes no arguments")) co_return;
    out_ += capabilities();
    reply("OK", "", "Capability completed");
  } else if (n == "NOOP") {
    if (c.args.size() > 1) co_return bad("NOOP takes an optional tag");
    if (c.args.size() == 1) reply("OK", "TAG " + string_out(c.args[0].text), "Done");
    else reply("OK", "", "Done");
  } else if (n == "LOGOUT") {
    reply("OK", "", "Logout completed");
    logout_ = true;
  } else if (n == "STARTTLS") {
    co_await cmd_starttls();
  } else if (n == "AUTHENTICATE") {
    co_await cmd_authenticate(c);
  } else if (!user_id_) {
    bad("Authenticate first");
  } else if (n == "UNAUTHENTICATE") {
    user_id_.reset();
    user_address_.clear();
    reply("OK", "", "Unauthenticated");
  } else if (n == "LISTSCRIPTS") {
    if (args(0, "LISTSCRIPTS takes no arguments")) cmd_listscripts();
  } else if (n == "PUTSCRIPT") {
    if (args(2, "PUTSCRIPT takes a name and a script")) co_await cmd_putscript(c);
  } else if (n == "CHECKSCRIPT") {
    if (args(1, "CHECKSCRIPT takes a script")) cmd_checkscript(c);
  } else if (n == "GETSCRIPT") {
    if (args(1, "GETSCRIPT takes a name")) cmd_getscript(c);
  } else if (n == "SETACTIVE") {
    if (args(1, "SETACTIVE takes a name")) co_await cmd_setactive(c);
  } else if (n == "DELETESCRIPT") {
    if (args(1, "DELETESCRIPT takes a name")) co_await cmd_deletescript(c);
  } else if (n == "RENAMESCRIPT") {
    if (args(2, "RENAMESCRIPT takes two names")) co_await cmd_renamescript(c);
  } else if (n == "HAVESPACE") {
    if (args(2, "HAVESPACE takes a name and a size")) cmd_havespace(c);
  } else {
    bad("Unknown command " + n);
  }
}

asio::awaitable<void> Session::cmd_starttls() {
  if (stream_->tls()) co_return bad("TLS is already active");
  reply("OK", "", "Begin TLS negotiation now");
  if (!co_await flush()) {
    logout_ = true;
    co_return;
  }
  in_.clear();  // nothing sent in plain text after STARTTLS counts
  boost::system::error_code ec;
  co_await stream_->handshake(shared_.tls, shared_.settings.tls_handshake_timeout, ec);
  if (ec) {
    log::info("sieve.tls.failed", {{"session", id_}, {"peer", peer_}, {"error", ec.message()}});
    logout_ = true;
    co_return;
  }
  // RFC 5804 2.2: the capabilities again, unprompted.
  out_ += capabilities();
  reply("OK", "", "TLS active");
}

asio::awaitable<void> Session::cmd_authenticate(Command& c) {
  if (user_id_) co_return bad("Already authenticated");
  if (!stream_->tls()) co_return reply("NO", "ENCRYPT-NEEDED", "Use STARTTLS first");
  if (c.args.empty() || c.args.size() > 2) co_return bad("AUTHENTICATE takes a mechanism and an optional initial response");
  if (upper(c.args[0].text) != "PLAIN") co_return reply("NO", "", "Unsupported mechanism; use PLAIN");
  std::string b64;
  if (c.args.size() == 2) {
    b64 = c.args[1].text;
  } else {
    out_ += "\"\"\r\n";  // the empty challenge
    for (;;) {
      auto crlf = in_.find("\r\n");
      if (crlf != std::string::npos) break;
      if (in_.size() > shared_.settings.max_line_length || !co_await read_more()) {
        logout_ = true;
        co_return;
      }
    }
    // The response: a quoted string or a literal on its own line; "*" cancels.
    auto f = frame(in_, shared_.settings.max_line_length, 8192);
    while (f.status == Frame::Status::need_more) {
      if (!co_await read_more()) {
        logout_ = true;
        co_return;
      }
      f = frame(in_, shared_.settings.max_line_length, 8192);
    }
    if (f.status != Frame::Status::complete) co_return bad("Bad authentication response");
    std::string line = in_.substr(0, f.end);
    in_.erase(0, f.end);
    auto parsed = parse("X " + line);
    if (auto* e = std::get_if<std::string>(&parsed)) co_return bad(*e);
    auto& resp = std::get<Command>(parsed);
    if (resp.args.size() != 1) co_return bad("Bad authentication response");
    if (resp.args[0].text == "*") co_return reply("NO", "", "Authentication cancelled");
    b64 = resp.args[0].text;
  }
  auto decoded = base64_decode(b64);
  if (!decoded) co_return reply("NO", "", "Invalid base64");
  // authzid \0 authcid \0 password; authzid must be empty or the same user
  auto p1 = decoded->find('\0');
  auto p2 = p1 == std::string::npos ? p1 : decoded->find('\0', p1 + 1);
  if (p2 == std::string::npos) co_return reply("NO", "", "Malformed PLAIN response");
  std::string authz = decoded->substr(0, p1), user = decoded->substr(p1 + 1, p2 - p1 - 1), pw = decoded->substr(p2 + 1);
  if (!authz.empty() && !iequals(authz, user)) co_return reply("NO", "", "Proxy authorisation is not supported");
  net::LoginGate gate{shared_.store, shared_.password_cache, shared_.auth_limiter, shared_.slow_pool,
                      shared_.core.auth.failure_delay};
  auto r = co_await net::gated_login(gate, "sieve", id_, peer_, user, pw);
  if (r.result == net::GateResult::throttled) co_return reply("NO", "TRYLATER", "Too many failed logins; try again later");
  if (r.result == net::GateResult::failed) co_return reply("NO", "", "Authentication failed");
  user_id_ = r.login.user_id;
  user_address_ = r.login.address;
  logged_in_.emplace(counters().authenticated);
  // No capabilities here: clients ask (CLIENTS.md 3).
  reply("OK", "", "Authenticated");
}

void Session::cmd_listscripts() {
  auto txn = shared_.store.read();
  for (const auto& s : sieve::list_scripts(*txn, *user_id_)) out_ += quoted(s.name) + (s.active ? " ACTIVE\r\n" : "\r\n");
  reply("OK", "", "Listscripts completed");
}

bool Session::validate(const std::string& text, std::vector<std::string>& warnings) {
  auto parsed = sieve::parse(text, sieve::limits_of(shared_.core));
  if (!parsed.script) {
    reply("NO", "", parsed.error);
    return false;
  }
  warnings = parsed.warnings;
  return true;
}

asio::awaitable<void> Session::cmd_putscript(Command& c) {
  const auto& name = c.args[0].text;
  const auto& text = c.args[1].text;
  if (auto why = sieve::script_name_error(name); !why.empty()) co_return reply("NO", "", "Invalid script name: " + why);
  if (text.size() > shared_.core.sieve.max_script_size)
    co_return reply("NO", "QUOTA/MAXSIZE", "Script larger than " + std::to_string(shared_.core.sieve.max_script_size) + " bytes");
  {
    auto txn = shared_.store.read();
    if (!sieve::get_script(*txn, *user_id_, name) && sieve::list_scripts(*txn, *user_id_).size() >= shared_.core.sieve.max_scripts)
      co_return reply("NO", "QUOTA/MAXSCRIPTS", "Too many scripts (limit " + std::to_string(shared_.core.sieve.max_scripts) + ")");
  }
  std::vector<std::string> warnings;
  if (!validate(text, warnings)) co_return;
  auto user = *user_id_;
  if (!co_await commit([&, user](store::WriteTxn& t) { return sieve::put_script(t, user, name, text); })) co_return;
  log::info("sieve.put", {{"session", id_}, {"user", user_address_}, {"script", name}, {"size", text.size()}});
  if (!warnings.empty()) reply("OK", "WARNINGS", warnings.front());
  else reply("OK", "", "Putscript completed");
}

void Session::cmd_checkscript(Command& c) {
  std::vector<std::string> warnings;
  if (c.args[0].text.size() > shared_.core.sieve.max_script_size) return reply("NO", "QUOTA/MAXSIZE", "Script too large");
  if (!validate(c.args[0].text, warnings)) return;
  if (!warnings.empty()) reply("OK", "WARNINGS", warnings.front());
  else reply("OK", "", "Script is valid");
}

void Session::cmd_getscript(Command& c) {
  auto txn = shared_.store.read();
  auto text = sieve::get_script(*txn, *user_id_, c.args[0].text);
  if (!text) return reply("NO", "NONEXISTENT", "No such script");
  // Always a literal: the stored bytes, unchanged.
  out_ += "{" + std::to_string(text->size()) + "}\r\n" + *text + "\r\n";
  reply("OK", "", "Getscript completed");
}

asio::awaitable<void> Session::cmd_setactive(Command& c) {
  auto name = c.args[0].text;
  auto user = *user_id_;
  if (!name.empty()) {
    auto txn = shared_.store.read();
    auto text = sieve::get_script(*txn, user, name);
    if (!text) co_return reply("NO", "NONEXISTENT", "No such script");
    std::vector<std::string> warnings;
    if (!validate(*text, warnings)) co_return;  // limits may have changed since upload
  }
  if (!co_await commit([&, user](store::WriteTxn& t) -> std::error_code {
        return sieve::set_active(t, user, name) ? std::error_code{} : store::Errc::aborted;
      }))
    co_return;
  log::info("sieve.activate", {{"session", id_}, {"user", user_address_}, {"script", name}});
  reply("OK", "", name.empty() ? "No script active" : "Setactive completed");
}

asio::awaitable<void> Session::cmd_deletescript(Command& c) {
  auto name = c.args[0].text;
  auto user = *user_id_;
  {
    auto txn = shared_.store.read();
    if (!sieve::get_script(*txn, user, name)) co_return reply("NO", "NONEXISTENT", "No such script");
    if (auto a = sieve::active_script(*txn, user); a && *a == name)
      co_return reply("NO", "ACTIVE", "The active script cannot be deleted; deactivate it first");
  }
  if (!co_await commit([&, user](store::WriteTxn& t) -> std::error_code {
        sieve::delete_script(t, user, name);
        return {};
      }))
    co_return;
  reply("OK", "", "Deletescript completed");
}

asio::awaitable<void> Session::cmd_renamescript(Command& c) {
  auto from = c.args[0].text, to = c.args[1].text;
  auto user = *user_id_;
  if (auto why = sieve::script_name_error(to); !why.empty()) co_return reply("NO", "", "Invalid script name: " + why);
  {
    auto txn = shared_.store.read();
    if (!sieve::get_script(*txn, user, from)) co_return reply("NO", "NONEXISTENT", "No such script");
    if (sieve::get_script(*txn, user, to)) co_return reply("NO", "ALREADYEXISTS", "A script with that name exists");
  }
  if (!co_await commit([&, user](store::WriteTxn& t) -> std::error_code {
        return sieve::rename_script(t, user, from, to) ? std::error_code{} : store::Errc::aborted;
      }))
    co_return;
  reply("OK", "", "Renamescript completed");
}

void Session::cmd_havespace(Command& c) {
  if (c.args[1].kind != Argument::Kind::number) return bad("HAVESPACE needs a number");
  if (auto why = sieve::script_name_error(c.args[0].text); !why.empty()) return reply("NO", "", "Invalid script name: " + why);
  auto size = std::stoull(c.args[1].text);
  if (size > shared_.core.sieve.max_script_size)
    return reply("NO", "QUOTA/MAXSIZE", "Scripts may be at most " + std::to_string(shared_.core.sieve.max_script_size) + " bytes");
  auto txn = shared_.store.read();
  if (!sieve::get_script(*txn, *user_id_, c.args[0].text) &&
      sieve::list_scripts(*txn, *user_id_).size() >= shared_.core.sieve.max_scripts)
    return reply("NO", "QUOTA/MAXSCRIPTS", "Too many scripts");
  reply("OK", "", "Putscript would succeed");
}

}  // namespace mailstead::managesieve

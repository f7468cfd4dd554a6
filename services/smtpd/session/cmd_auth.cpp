// STARTTLS (RFC 3207) and AUTH PLAIN / LOGIN (RFC 4954, 4616) on the submission ports,
// with failed-login limits (docs/security.md).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/failure_limiter.hpp"
#include "auth/login.hpp"
#include "net/login_gate.hpp"
#include "log/log.hpp"
#include "session/session.hpp"
#include "util/base64.hpp"

namespace mailstead::smtp {

asio::awaitable<void> Session::handle_starttls() {
  if (stream_->tls()) {
    send_error(503, "5.5.1", "TLS already active");
    co_return;
  }
  send(220, "2.0.0", "Ready to start TLS");
  if (!co_await flush()) {
    quit_ = true;
    co_return;
  }
  // Anything the client pipelined after STARTTLS arrived in plain text: drop it
  // (the CVE-2011-0411 command injection).
  in_.clear();
  boost::system::error_code ec;
  co_await stream_->handshake(shared_.tls, shared_.settings.tls_handshake_timeout, ec);
  if (ec) {
    log::info("smtp.tls.failed", {{"session", id_}, {"peer", peer_}, {"error", ec.message()}});
    quit_ = true;
    co_return;
  }
  log::info("smtp.tls", {{"session", id_}, {"version", stream_->tls_version()}, {"cipher", stream_->tls_cipher()}});
  // RFC 3207 4.2: forget everything learnt before TLS.
  helo_.clear();
  esmtp_ = false;
  reset_transaction();
}

asio::awaitable<void> Session::handle_auth(const Auth& a) {
  if (port_ == Port::mx) {
    send_error(503, "5.5.1", "AUTH is not available on this port; use submission (587 or 465)");
    co_return;
  }
  if (!stream_->tls()) {
    send_error(530, "5.7.0", "Must issue a STARTTLS command first");
    co_return;
  }
  if (helo_.empty()) {
    send_error(503, "5.5.1", "Send EHLO first");
    co_return;
  }
  if (user_id_) {
    send_error(503, "5.5.1", "Already authenticated");
    co_return;
  }
  if (txn_.active) {
    send_error(503, "5.5.1", "AUTH is not allowed during a mail transaction");
    co_return;
  }
  if (a.mechanism != "PLAIN" && a.mechanism != "LOGIN") {
    send_error(504, "5.5.4", "Unrecognized authentication type");
    co_return;
  }
  // One client response: from the initial response, or after a 334 challenge.
  // "*" cancels (RFC 4954 4); "=" is an empty initial response.
  bool cancelled = false, malformed = false;
  auto response = [&](std::optional<std::string> initial, const char* challenge) -> asio::awaitable<std::optional<std::string>> {
    std::string b64;
    if (initial) {
      b64 = *initial == "=" ? "" : *initial;
    } else {
      send(std::string("334 ") + challenge + "\r\n");
      auto line = co_await read_line();
      if (!line) co_return std::nullopt;
      if (*line == "*") {
        cancelled = true;
        co_return std::nullopt;
      }
      b64 = *line;
    }
    auto decoded = base64_decode(b64);
    if (!decoded) malformed = true;
    co_return decoded;
  };

  std::string user, password;
  if (a.mechanism == "PLAIN") {
    auto r = co_await response(a.initial, "");
    if (!r) goto failed_exchange;
    // authzid NUL authcid NUL passwd (RFC 4616 2)
    auto first = r->find('\0');
    auto second = first == std::string::npos ? std::string::npos : r->find('\0', first + 1);
    if (second == std::string::npos) {
      malformed = true;
      goto failed_exchange;
    }
    auto authz = r->substr(0, first);
    user = r->substr(first + 1, second - first - 1);
    password = r->substr(second + 1);
    if (!authz.empty() && authz != user) {
      send_error(535, "5.7.8", "Authorization identity must match the login");
      co_return;
    }
  } else {
    auto u = co_await response(a.initial, "VXNlcm5hbWU6");  // "Username:"
    if (!u) goto failed_exchange;
    auto p = co_await response(std::nullopt, "UGFzc3dvcmQ6");  // "Password:"
    if (!p) goto failed_exchange;
    user = *u;
    password = *p;
  }

  {
    net::LoginGate gate{shared_.store, shared_.password_cache, shared_.auth_limiter, shared_.slow_pool,
                        shared_.core.auth.failure_delay};
    auto r = co_await net::gated_login(gate, "smtp", id_, peer_, user, password);
    if (r.result == net::GateResult::throttled) {
      send(454, "4.7.0", "Too many failed logins from your address; try again later");
      co_return;
    }
    if (r.result == net::GateResult::ok) {
      user_id_ = r.login.user_id;
      user_address_ = r.login.address;
      logged_in_.emplace(counters().authenticated);
      send(235, "2.7.0", "Authentication successful");
      co_return;
    }
    send_error(535, "5.7.8", "Authentication credentials invalid");
    co_return;
  }

failed_exchange:
  if (cancelled) send_error(501, "5.0.0", "Authentication cancelled");
  else if (malformed) send_error(501, "5.5.2", "Cannot decode the response");
  // else: the connection went away
}

}  // namespace mailstead::smtp

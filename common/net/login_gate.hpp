// Password login for a protocol session, the same for SMTP, IMAP and ManageSieve: the
// failed-login limits (docs/security.md: a read, the verified cache, the per-account pause,
// a slot reserved before the check), argon2id on the slow pool (never on a session thread),
// and a pause before a failure is answered. Logs `<proto>.auth.*` events: one
// `<proto>.auth.failed` per password check that failed, `<proto>.auth.throttled` per refusal.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <string>

#include "auth/login.hpp"

namespace mailstead::auth {
class VerifiedCache;
class FailureLimiter;
}  // namespace mailstead::auth

namespace mailstead::net {

struct LoginGate {
  store::Store& store;
  auth::VerifiedCache& cache;
  auth::FailureLimiter& limiter;
  boost::asio::thread_pool& slow_pool;
  std::chrono::milliseconds failure_delay;
};

enum class GateResult { ok, failed, throttled };

struct GateOutcome {
  GateResult result = GateResult::failed;
  auth::LoginResult login;
};

// `proto` and `session` label the log lines ("smtp", "imap").
boost::asio::awaitable<GateOutcome> gated_login(LoginGate& gate, const std::string& proto, const std::string& session,
                                                const std::string& peer, const std::string& user,
                                                const std::string& password);

}  // namespace mailstead::net

// The login gate (see login_gate.hpp).
#include "net/login_gate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <memory>

#include "auth/failure_limiter.hpp"
#include "auth/password.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"

namespace mailstead::net {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// The limiter answers on whatever thread its table uses; resume on the session's own.
enum class Ask { check, reserve };
asio::awaitable<auth::Decision> ask(auth::FailureLimiter& limiter, Ask what, const auth::Attempt& attempt) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(auth::Decision)>(
      [&limiter, what, &attempt](auto handler) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto done = [h, ex](auth::Decision d) { asio::post(ex, [h, d]() mutable { (*h)(d); }); };
        if (what == Ask::check) limiter.check(attempt, std::move(done));
        else limiter.reserve(attempt, std::move(done));
      },
      asio::use_awaitable);
}

// Password logins by protocol and result (docs/metrics.md). Each thread finds a protocol's
// counters in its own small cache, so only its first login takes the registry's lock.
struct LoginCounters {
  metrics::Counter &ok, &failed, &throttled;
};
LoginCounters& login_counters(const std::string& proto) {
  thread_local std::map<std::string, std::unique_ptr<LoginCounters>> cache;
  auto& c = cache[proto];
  if (!c) {
    auto& reg = metrics::process();
    const char* help = "Password logins (SMTP AUTH, IMAP, ManageSieve, admin API), by protocol and result";
    c = std::make_unique<LoginCounters>(LoginCounters{
        reg.counter("mailstead_logins_total", help, {{"protocol", proto}, {"result", "ok"}}),
        reg.counter("mailstead_logins_total", help, {{"protocol", proto}, {"result", "failed"}}),
        reg.counter("mailstead_logins_total", help, {{"protocol", proto}, {"result", "throttled"}})});
  }
  return *c;
}

void log_throttled(const std::string& proto, const std::string& session, const std::string& peer,
                   const auth::Decision& d) {
  ++login_counters(proto).throttled;
  log::warn(proto + ".auth.throttled",
            {{"session", session}, {"peer", peer}, {"failures", d.address_failures},
             {"retry_after_s", (d.retry_after.count() + 999) / 1000}});
}

// Records a success and resumes once the table has it: the next attempt from the client
// (or anyone behind its address) sees the count given back.
asio::awaitable<void> record_success(auth::FailureLimiter& limiter, const auth::Attempt& attempt) {
  return asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&limiter, &attempt](auto handler) {
        auto ex = asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        limiter.succeeded(attempt, [h, ex] { asio::post(ex, [h]() mutable { (*h)(); }); });
      },
      asio::use_awaitable);
}

}  // namespace

asio::awaitable<GateOutcome> gated_login(LoginGate& gate, const std::string& proto, const std::string& session,
                                         const std::string& peer, const std::string& user,
                                         const std::string& password) {
  GateOutcome out;
  auto attempt = auth::Attempt::of(peer, user);
  // A read first: a refused guesser costs no write and no argon2id.
  auto seen = co_await ask(gate.limiter, Ask::check, attempt);
  if (!seen.allowed) {
    log_throttled(proto, session, peer, seen);
    out.result = GateResult::throttled;
    co_return out;
  }
  // A password verified within the cache's TTL is right: it spends no slot and no time.
  if (auto cached = auth::login_from_cache(gate.store, gate.cache, user, password)) {
    out.login = std::move(*cached);
  } else {
    co_await sleep_for(seen.delay);
    // Counted before the check, atomically across processes: parallel guesses cannot
    // overrun the budget.
    auto slot = co_await ask(gate.limiter, Ask::reserve, attempt);
    if (!slot.allowed) {
      log_throttled(proto, session, peer, slot);
      out.result = GateResult::throttled;
      co_return out;
    }
    if (!slot.counted) log::warn("auth.limits.unavailable", {{"session", session}, {"peer", peer}});
    auto ex = co_await asio::this_coro::executor;
    co_await asio::post(gate.slow_pool, asio::use_awaitable);
    out.login = auth::login(gate.store, gate.cache, user, password);
    co_await asio::post(ex, asio::use_awaitable);
    if (out.login.status != auth::LoginStatus::ok) {
      ++login_counters(proto).failed;
      log::warn(proto + ".auth.failed",
                {{"session", session}, {"peer", peer}, {"user", user},
                 {"reason", out.login.status == auth::LoginStatus::disabled ? "disabled" : "credentials"},
                 {"trusted", slot.trusted}, {"address_failures", slot.address_failures},
                 {"account_failures", slot.account_failures}, {"delay_ms", seen.delay.count()}});
      co_await sleep_for(gate.failure_delay);
      co_return out;
    }
  }
  co_await record_success(gate.limiter, attempt);
  log::info(proto + ".auth.ok", {{"session", session}, {"peer", peer}, {"user", out.login.address},
                                 {"cached", out.login.from_cache}, {"trusted", seen.trusted}});
  ++login_counters(proto).ok;
  out.result = GateResult::ok;
  co_return out;
}

}  // namespace mailstead::net

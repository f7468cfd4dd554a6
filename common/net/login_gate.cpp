// The login gate (see login_gate.hpp).
#include "net/login_gate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/failure_limiter.hpp"
#include "log/log.hpp"

namespace mailstead::net {

namespace asio = boost::asio;

namespace {
asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}
}  // namespace

asio::awaitable<GateOutcome> gated_login(LoginGate& gate, const std::string& proto, const std::string& session,
                                         const std::string& peer, const std::string& user,
                                         const std::string& password) {
  GateOutcome out;
  if (!gate.limiter.ip_allowed(peer)) {
    log::warn(proto + ".auth.throttled", {{"session", session}, {"peer", peer}});
    out.result = GateResult::throttled;
    co_return out;
  }
  co_await sleep_for(gate.limiter.account_delay(user));
  auto ex = co_await asio::this_coro::executor;
  co_await asio::post(gate.slow_pool, asio::use_awaitable);
  out.login = auth::login(gate.store, gate.cache, user, password);
  co_await asio::post(ex, asio::use_awaitable);
  if (out.login.status == auth::LoginStatus::ok) {
    gate.limiter.succeeded(peer);
    log::info(proto + ".auth.ok", {{"session", session}, {"peer", peer}, {"user", out.login.address},
                                   {"cached", out.login.from_cache}});
    out.result = GateResult::ok;
    co_return out;
  }
  gate.limiter.failed(peer, user);
  log::warn(proto + ".auth.failed",
            {{"session", session}, {"peer", peer}, {"user", user},
             {"reason", out.login.status == auth::LoginStatus::disabled ? "disabled" : "credentials"}});
  co_await sleep_for(gate.failure_delay);
  co_return out;
}

}  // namespace mailstead::net

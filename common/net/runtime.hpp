// What every protocol service sets up before serving, made once: the store, the TLS
// context, the verified-password cache, the failed-login limiter, the connection limits and
// the pool where argon2id runs; with Redis configured, the publisher of mailbox changes.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "auth/failure_limiter.hpp"
#include "auth/password.hpp"
#include "net/listener.hpp"
#include "net/server.hpp"
#include "net/tls.hpp"
#include "notify/changes.hpp"
#include "service/service.hpp"
#include "store/store.hpp"

namespace mailstead::net {

struct RuntimeLimits {
  std::uint32_t max_connections = 1000;  // per listener (listening address)
  std::uint32_t max_connections_per_ip = 20;
};

struct Runtime {
  Runtime(const config::CoreSettings& core, const RuntimeLimits& limits)
      : cache(core.auth.verified_cache_ttl, core.auth.verified_cache_entries),
        connections(limits.max_connections, limits.max_connections_per_ip) {}
  // Declared first so it outlives the store whose commit hook feeds it.
  std::unique_ptr<notify::Publisher> changes;
  std::unique_ptr<store::Store> store;
  std::optional<boost::asio::ssl::context> tls;
  std::unique_ptr<Certificate> certificate;  // presented by `tls`; reloaded on SIGHUP and when the files change
  auth::VerifiedCache cache;
  // Over the store (or Redis): one budget for smtpd, imapd and sieved. Made with the store.
  std::unique_ptr<auth::FailureLimiter> limiter;
  ConnectionLimits connections;
  boost::asio::thread_pool slow_pool{2};
};

// Opens the store and loads the TLS files; on failure prints why and returns null.
std::unique_ptr<Runtime> make_runtime(const service::Context& ctx, const RuntimeLimits& limits);

// The connection limits from a service's settings (every protocol service names them alike).
template <class Settings>
RuntimeLimits limits_of(const Settings& s) {
  return {s.max_connections, s.max_connections_per_ip};
}

// A listener whose every connection runs one `Session(shared, socket, extra...)`.
template <class Session, class Shared, class... Extra>
Listener session_listener(const std::string& address, Shared& shared, Extra... extra) {
  return {address,
          [&shared, extra...](tcp::socket s) -> boost::asio::awaitable<void> {
            Session one(shared, std::move(s), extra...);
            co_await one.run();
          },
          "", ""};
}

// Serves the listeners until SIGTERM/SIGINT, dropping privileges once they are bound, then
// stops the slow pool (and whatever `join_pools` joins: a service's own pools) before the
// sessions' io_contexts go, and the store. Returns the process's exit code.
int serve_until_stopped(Runtime& rt, const service::Context& ctx, const std::string& name, unsigned threads,
                        std::vector<Listener> listeners, std::function<void()> join_pools = {});

}  // namespace mailstead::net

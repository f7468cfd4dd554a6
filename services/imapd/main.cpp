// mailstead-imapd: IMAPS (993) sessions on the shared server runner.
#include <boost/asio/thread_pool.hpp>
#include <cstdio>

#include "auth/failure_limiter.hpp"
#include "auth/password.hpp"
#include "net/server.hpp"
#include "net/tls.hpp"
#include "service/service.hpp"
#include "session.hpp"
#include "settings.hpp"
#include "store/store.hpp"

using namespace mailstead;
namespace asio = boost::asio;

namespace {

int serve(const service::Context& ctx, const imap::Settings& settings) {
  auto store = service::open_store(ctx);
  if (!store) return 1;
  std::optional<asio::ssl::context> tls;
  try {
    tls.emplace(net::make_server_tls(ctx.core.tls_cert(), ctx.core.tls_key(), ctx.core.tls.min_version));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead-imapd: %s\n", e.what());
    return 1;
  }
  auth::VerifiedCache cache(ctx.core.auth.verified_cache_ttl, ctx.core.auth.verified_cache_entries);
  auth::FailureLimiter limiter({settings.auth_max_failures_per_ip, settings.auth_max_failures_per_account,
                                settings.auth_failure_window, std::chrono::seconds(2)});
  net::ConnectionLimits limits(settings.max_connections, settings.max_connections_per_ip);
  asio::thread_pool slow_pool(2);
  imap::Shared shared{settings, ctx.core, *store, *tls, cache, limiter, slow_pool};
  std::vector<net::Listener> listeners;
  for (const auto& a : settings.imaps_listen)
    listeners.push_back({a, [&shared](net::tcp::socket s) -> asio::awaitable<void> {
                           imap::Session one(shared, std::move(s));
                           co_await one.run();
                         },
                         "", ""});
  net::ServerOptions options{"imapd", settings.threads, &limits, [&] { return service::drop_privileges(ctx.core); }};
  int rc = net::serve(options, std::move(listeners));
  slow_pool.join();
  store->close();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  imap::Settings settings;
  return service::run(
      argc, argv, "mailstead-imapd", [&](config::Source& src) { settings = imap::load_settings(src); },
      [&](const service::Context& ctx) { return serve(ctx, settings); });
}

// mailstead-imapd: IMAPS (993) and, if configured, IMAP with STARTTLS (143) sessions on the
// shared server runner.
#include <cstdio>

#include "net/runtime.hpp"
#include "net/server.hpp"
#include "notify/changes.hpp"
#include "service/service.hpp"
#include "session.hpp"
#include "settings.hpp"
#include "store/store.hpp"

using namespace mailstead;
namespace asio = boost::asio;

namespace {

int serve(const service::Context& ctx, const imap::Settings& settings) {
  auto rt = net::make_runtime(ctx, {settings.max_connections, settings.max_connections_per_ip,
                                     {settings.auth_max_failures_per_ip, settings.auth_max_failures_per_account,
                                      settings.auth_failure_window, std::chrono::seconds(2)}});
  if (!rt) return 1;
  imap::Watcher watcher(*rt->store, settings.idle_poll);
  notify::Subscriber redis(ctx.core.redis.url, [&watcher](std::uint64_t mailbox) { watcher.changed(mailbox); });
  imap::Shared shared{settings, ctx.core, *rt->store, *rt->tls, rt->cache, rt->limiter, rt->slow_pool, watcher};
  std::vector<net::Listener> listeners;
  for (const auto& a : settings.imaps_listen)
    listeners.push_back({a, [&shared](net::tcp::socket s) -> asio::awaitable<void> {
                           imap::Session one(shared, std::move(s));
                           co_await one.run();
                         },
                         "", ""});
  for (const auto& a : settings.imap_listen)
    listeners.push_back({a, [&shared](net::tcp::socket s) -> asio::awaitable<void> {
                           imap::Session one(shared, std::move(s), false);
                           co_await one.run();
                         },
                         "", ""});
  net::ServerOptions options{"imapd", settings.threads, &rt->connections,
                             [&] { return service::drop_privileges(ctx.core); }};
  int rc = net::serve(options, std::move(listeners));
  rt->slow_pool.join();
  rt->store->close();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  imap::Settings settings;
  return service::run(
      argc, argv, "mailstead-imapd", [&](config::Source& src) { settings = imap::load_settings(src); },
      [&](const service::Context& ctx) { return serve(ctx, settings); });
}

// mailstead-sieved: ManageSieve (RFC 5804) on the shared server runner: STARTTLS, then
// AUTHENTICATE PLAIN, then the user's scripts in the store (docs/sieve.md).
#include "net/runtime.hpp"
#include "net/server.hpp"
#include "service/service.hpp"
#include "session.hpp"
#include "settings.hpp"
#include "store/store.hpp"

using namespace mailstead;
namespace asio = boost::asio;

namespace {

int serve(const service::Context& ctx, const managesieve::Settings& settings) {
  auto rt = net::make_runtime(ctx, {settings.max_connections, settings.max_connections_per_ip,
                                     {settings.auth_max_failures_per_ip, settings.auth_max_failures_per_account,
                                      settings.auth_failure_window, std::chrono::seconds(2)}});
  if (!rt) return 1;
  managesieve::Shared shared{settings, ctx.core, *rt->store, *rt->tls, rt->cache, rt->limiter, rt->slow_pool};
  std::vector<net::Listener> listeners;
  for (const auto& a : settings.listen)
    listeners.push_back({a, [&shared](net::tcp::socket s) -> asio::awaitable<void> {
                           managesieve::Session one(shared, std::move(s));
                           co_await one.run();
                         },
                         "", ""});
  net::ServerOptions options{"sieved", settings.threads, &rt->connections,
                             [&] { return service::drop_privileges(ctx.core); }};
  int rc = net::serve(options, std::move(listeners));
  rt->slow_pool.join();
  rt->store->close();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  managesieve::Settings settings;
  return service::run(
      argc, argv, "mailstead-sieved", [&](config::Source& src) { settings = managesieve::load_settings(src); },
      [&](const service::Context& ctx) { return serve(ctx, settings); });
}

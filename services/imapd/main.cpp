// mailstead-imapd: IMAPS (993) and, if configured, IMAP with STARTTLS (143) sessions on the
// shared server runner.
#include <cstdio>

#include "counters.hpp"
#include "http/metrics_endpoint.hpp"
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
  auto rt = net::make_runtime(ctx, net::limits_of(settings));
  if (!rt) return 1;
  imap::Watcher watcher(*rt->store, settings.idle_poll);
  notify::Subscriber redis(ctx.core.redis.url, [&watcher](std::uint64_t mailbox) { watcher.changed(mailbox); });
  imap::Shared shared{settings, ctx.core, *rt->store, *rt->tls, rt->cache, *rt->limiter, rt->slow_pool, watcher};
  std::vector<net::Listener> listeners;
  for (const auto& a : settings.imaps_listen) listeners.push_back(net::session_listener<imap::Session>(a, shared, true));
  for (auto& l : listeners) l.name = "imaps";
  for (const auto& a : settings.imap_listen) listeners.push_back(net::session_listener<imap::Session>(a, shared, false));
  for (auto& l : listeners) if (l.name.empty()) l.name = "imap";
  imap::counters();  // every counter shows from the start, at 0
  http::Shared metrics_http{http::Limits{}, nullptr, http::metrics_handler(), "imapd.metrics"};
  for (auto& l : http::metrics_listeners(settings.metrics_listen, metrics_http)) listeners.push_back(std::move(l));
  return net::serve_until_stopped(*rt, ctx, "imapd", settings.threads, std::move(listeners));
}

}  // namespace

int main(int argc, char** argv) {
  imap::Settings settings;
  return service::run(
      argc, argv, "mailstead-imapd", [&](config::Source& src) { settings = imap::load_settings(src); },
      [&](const service::Context& ctx) { return serve(ctx, settings); });
}

// mailstead-smtpd: MX, submission and submissions listeners on one io_context per
// thread (SO_REUSEPORT acceptors on each), sessions as coroutines, a shared store.
#include <cstdio>

#include "counters.hpp"
#include "http/metrics_endpoint.hpp"
#include "inbound/auth_checks.hpp"
#include "net/listener.hpp"
#include "net/runtime.hpp"
#include "net/server.hpp"
#include "service/service.hpp"
#include "session/session.hpp"
#include "settings.hpp"
#include "srs/srs.hpp"
#include "spool.hpp"
#include "store/store.hpp"

using namespace mailstead;
namespace asio = boost::asio;

namespace {

int serve(const service::Context& ctx, const smtp::Settings& settings) {
  auto rt = net::make_runtime(ctx, net::limits_of(settings));
  if (!rt) return 1;
  // Bounces to SRS addresses are routed back (docs/outbound.md): the keys, once per start.
  auto srs_keys = srs::load_keys(*rt->store, ctx.core);
  if (!srs_keys) {
    std::fprintf(stderr, "mailstead-smtpd: %s\n", srs_keys.error().message.c_str());
    return 1;
  }
  smtp::Spool spool(ctx.core.data_dir + "/spool",
                    {settings.memory_budget, settings.spool_threshold, settings.spool_max_size});
  if (auto why = spool.open(ctx.core.run_as); !why.empty()) {
    std::fprintf(stderr, "%s: %s\n", ctx.name.c_str(), why.c_str());
    return 1;
  }
  asio::thread_pool sieve_pool(settings.sieve_threads);
  // SPF, DKIM, DMARC on the MX (docs/authentication.md): its own DNS thread and check pool.
  std::unique_ptr<mailstead::inbound::AuthChecker> authenticator;
  if (settings.auth.enabled) {
    try {
      authenticator = std::make_unique<mailstead::inbound::AuthChecker>(settings.auth, ctx.core);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: message authentication: %s\n", ctx.name.c_str(), e.what());
      return 1;
    }
  }
  inbound::Protection protection(settings.inbound, ctx.core);  // DNSBL, lists, rates (docs/inbound.md)
  smtp::Shared shared{settings, ctx.core, *rt->store, *rt->tls, rt->cache, *rt->limiter, rt->connections, rt->slow_pool,
                      directory::RoutingSettings{ctx.core.routing.recipient_delimiter, std::move(*srs_keys),
                                                 ctx.core.srs.max_age_days, settings.streams.pattern},
                      spool, sieve_pool, protection, authenticator.get()};

  auto session = [&shared](smtp::Port port) {
    return [&shared, port](net::tcp::socket s) -> asio::awaitable<void> {
      smtp::Session one(shared, std::move(s), port);
      co_await one.run();
    };
  };
  std::vector<net::Listener> listeners;
  auto add = [&](const std::vector<std::string>& addrs, smtp::Port port) {
    for (const auto& a : addrs) {
      net::Listener l{a, session(port), "421 4.7.0 Too many connections from your address, try again later\r\n",
                      "421 4.3.2 Too many connections, try again later\r\n"};
      if (port == smtp::Port::submissions) l.too_many_from_ip = l.too_many_on_listener = "";  // TLS from the first byte
      l.name = port == smtp::Port::mx ? "mx" : port == smtp::Port::submission ? "submission" : "submissions";
      listeners.push_back(std::move(l));
    }
  };
  add(settings.mx_listen, smtp::Port::mx);
  add(settings.submission_listen, smtp::Port::submission);
  add(settings.submissions_listen, smtp::Port::submissions);
  smtp::counters();  // every counter shows from the start, at 0
  http::Shared metrics_http{http::Limits{}, nullptr, http::metrics_handler(), "smtpd.metrics"};
  for (auto& l : http::metrics_listeners(settings.metrics_listen, metrics_http)) listeners.push_back(std::move(l));
  return net::serve_until_stopped(*rt, ctx, "smtpd", settings.threads, std::move(listeners), [&] {
    sieve_pool.join();
    if (authenticator) authenticator->pool().join();
    protection.shutdown();
  });
}

}  // namespace

int main(int argc, char** argv) {
  smtp::Settings settings;
  return service::run(
      argc, argv, "mailstead-smtpd", [&](config::Source& src) { settings = smtp::load_settings(src); },
      [&](const service::Context& ctx) { return serve(ctx, settings); });
}

// mailstead-sieved: ManageSieve (RFC 5804) on the shared server runner: STARTTLS, then
// AUTHENTICATE PLAIN, then the user's scripts in the store (docs/sieve.md).
#include "counters.hpp"
#include "http/metrics_endpoint.hpp"
#include "net/runtime.hpp"
#include "service/service.hpp"
#include "session.hpp"
#include "settings.hpp"
#include "store/store.hpp"

using namespace mailstead;
namespace asio = boost::asio;

namespace {

int serve(const service::Context& ctx, const managesieve::Settings& settings) {
  auto rt = net::make_runtime(ctx, net::limits_of(settings));
  if (!rt) return 1;
  managesieve::Shared shared{settings, ctx.core, *rt->store, *rt->tls, rt->cache, *rt->limiter, rt->slow_pool};
  std::vector<net::Listener> listeners;
  for (const auto& a : settings.listen) listeners.push_back(net::session_listener<managesieve::Session>(a, shared));
  for (auto& l : listeners) l.name = "managesieve";
  managesieve::counters();  // every counter shows from the start, at 0
  http::Shared metrics_http{http::Limits{}, nullptr, http::metrics_handler(), "sieved.metrics"};
  for (auto& l : http::metrics_listeners(settings.metrics_listen, metrics_http)) listeners.push_back(std::move(l));
  return net::serve_until_stopped(*rt, ctx, "sieved", settings.threads, std::move(listeners));
}

}  // namespace

int main(int argc, char** argv) {
  managesieve::Settings settings;
  return service::run(
      argc, argv, "mailstead-sieved", [&](config::Source& src) { settings = managesieve::load_settings(src); },
      [&](const service::Context& ctx) { return serve(ctx, settings); });
}

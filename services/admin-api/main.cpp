// mailstead-admin-api: the HTTPS admin API, self-service and mail client autoconfig on
// [admin] listen, and Prometheus /metrics on [admin] metrics_listen, on the shared server
// runner (docs/admin-api.md).
#include "api/api.hpp"
#include "api/metrics.hpp"
#include "http/metrics_endpoint.hpp"
#include "http/session.hpp"
#include "http/static_files.hpp"
#include "live/hub.hpp"
#include "log/log.hpp"
#include "net/runtime.hpp"
#include "ops/admin_ops.hpp"
#include "service/service.hpp"
#include "settings.hpp"
#include "../deliverd/settings.hpp"

using namespace mailstead;

namespace {

int serve(const service::Context& ctx, const admin::Settings& settings, const outbound::Settings& out,
          const admin::MxPolicySettings& mx) {
  auto rt = net::make_runtime(ctx, net::limits_of(settings));
  if (!rt) return 1;
  admin::Ops ops(*rt->store, ctx.core);
  auto metrics = api::make_metrics();
  live::Hub hub(*rt->store, settings.live_poll);
  api::Api state{settings, ctx.core, ops, rt->cache, *rt->limiter, rt->slow_pool, *metrics, out, mx, &hub};
  // The web UI's files first (GET of "/" and of its assets), then the API and autoconfig.
  std::string root = settings.web_root.empty() ? http::default_web_root() : settings.web_root, problem;
  auto web = http::StaticFiles::load(root, problem);
  if (problem.empty())
    log::info("admin.web.loaded", {{"root", root}, {"files", web.size()}});
  else
    log::warn("admin.web.missing", {{"root", root}, {"problem", problem}});
  auto api_handler = api::make_api_handler(state);
  http::Handler handler = [&web, api_handler](http::Request& req) -> boost::asio::awaitable<http::Response> {
    if (auto r = web.serve(req)) co_return std::move(*r);
    auto answer = api_handler(req);
    co_return co_await std::move(answer);
  };
  http::Shared https{http::limits_of(settings), &*rt->tls, handler, "admin.http"};
  http::Shared plain{http::limits_of(settings), nullptr, api::make_metrics_handler(state), "admin.metrics"};
  std::vector<net::Listener> listeners;
  for (const auto& a : settings.listen) {
    listeners.push_back(net::session_listener<http::Session>(a, https));
    listeners.back().name = "https";
  }
  for (auto& l : http::metrics_listeners(settings.metrics_listen, plain)) listeners.push_back(std::move(l));
  return net::serve_until_stopped(*rt, ctx, "admin", settings.threads, std::move(listeners));
}

}  // namespace

int main(int argc, char** argv) {
  admin::Settings settings;
  outbound::Settings out;
  admin::MxPolicySettings mx;
  return service::run(
      argc, argv, "mailstead-admin-api",
      [&](config::Source& src) {
        settings = admin::load_settings(src);
        out = outbound::load_settings(src);
        mx = admin::mx_policy_of(smtp::load_settings(src));  // the same file smtpd reads
      },
      [&](const service::Context& ctx) { return serve(ctx, settings, out, mx); });
}

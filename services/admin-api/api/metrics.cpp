// The admin API's metrics (see metrics.hpp) and its /metrics handler: the shared exposition
// (common/http/metrics_endpoint) with directory and queue gauges read from the store when
// scraped.
#include "api/metrics.hpp"

#include "api/call.hpp"
#include "http/metrics_endpoint.hpp"

namespace mailstead::api {

namespace {
metrics::Labels of(const char* name, const char* value) { return {{name, value}}; }
constexpr const char* requests_help = "HTTP requests answered by the admin API, by status class";
constexpr const char* logins_help = "Sign-ins to the admin API and web UI, by result";
}  // namespace

Metrics::Metrics()
    : requests_2xx(metrics::process().counter("mailstead_admin_http_requests_total", requests_help, of("class", "2xx"))),
      requests_4xx(metrics::process().counter("mailstead_admin_http_requests_total", requests_help, of("class", "4xx"))),
      requests_5xx(metrics::process().counter("mailstead_admin_http_requests_total", requests_help, of("class", "5xx"))),
      logins_ok(metrics::process().counter("mailstead_admin_logins_total", logins_help, of("result", "ok"))),
      logins_failed(metrics::process().counter("mailstead_admin_logins_total", logins_help, of("result", "failed"))),
      logins_throttled(metrics::process().counter("mailstead_admin_logins_total", logins_help, of("result", "throttled"))),
      commit_seconds(metrics::process().histogram("mailstead_admin_store_commit_seconds",
                                                  "Time from submitting an admin change to its durable group commit",
                                                  metrics::latency_buckets())) {}

http::Handler make_metrics_handler(Api& api) {
  auto& reg = metrics::process();
  constexpr const char* entries_help = "Entries in the directory, by kind";
  struct Gauges {
    metrics::Gauge &queue, &domains, &users, &aliases, &groups, &map_size;
  };
  auto g = std::make_shared<Gauges>(Gauges{
      reg.gauge("mailstead_queue_depth", "Messages in the outbound queue"),
      reg.gauge("mailstead_directory_entries", entries_help, of("kind", "domain")),
      reg.gauge("mailstead_directory_entries", entries_help, of("kind", "user")),
      reg.gauge("mailstead_directory_entries", entries_help, of("kind", "alias")),
      reg.gauge("mailstead_directory_entries", entries_help, of("kind", "group")),
      reg.gauge("mailstead_store_map_size_bytes", "The store's current LMDB map size")});
  return http::metrics_handler([&api, g] {
    auto n = api.ops.counts();
    g->queue.set(static_cast<std::int64_t>(n.queue));
    g->domains.set(static_cast<std::int64_t>(n.domains));
    g->users.set(static_cast<std::int64_t>(n.users));
    g->aliases.set(static_cast<std::int64_t>(n.aliases));
    g->groups.set(static_cast<std::int64_t>(n.groups));
    g->map_size.set(static_cast<std::int64_t>(api.ops.store().map_size()));
  });
}

}  // namespace mailstead::api

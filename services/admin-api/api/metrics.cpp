// Prometheus text exposition (format 0.0.4) of the admin API's counters and of gauges read
// from the store at scrape time (see metrics.hpp).
#include "api/metrics.hpp"

#include <cstdio>

#include "api/call.hpp"

namespace mailstead::api {

void Histogram::observe(double seconds) {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) ++counts_[i];
  ++count_;
  sum_ += seconds;
}

namespace {
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::lock_guard lock(mu_);
  std::string out = "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  for (std::size_t i = 0; i < bounds.size(); ++i)
    out += name + "_bucket{le=\"" + num(bounds[i]) + "\"} " + std::to_string(counts_[i]) + "\n";
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + num(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
  return out;
}

namespace {

std::string render(Api& api) {
  auto& m = api.metrics;
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  metric("mailstead_admin_http_requests_total", "counter", "HTTP requests answered by the admin API, by status class");
  out += "mailstead_admin_http_requests_total{class=\"2xx\"} " + std::to_string(m.requests_2xx.load()) + "\n";
  out += "mailstead_admin_http_requests_total{class=\"4xx\"} " + std::to_string(m.requests_4xx.load()) + "\n";
  out += "mailstead_admin_http_requests_total{class=\"5xx\"} " + std::to_string(m.requests_5xx.load()) + "\n";
  metric("mailstead_admin_logins_total", "counter", "Sign-ins to the admin API and web UI, by result");
  out += "mailstead_admin_logins_total{result=\"ok\"} " + std::to_string(m.logins_ok.load()) + "\n";
  out += "mailstead_admin_logins_total{result=\"failed\"} " + std::to_string(m.logins_failed.load()) + "\n";
  out += "mailstead_admin_logins_total{result=\"throttled\"} " + std::to_string(m.logins_throttled.load()) + "\n";
  out += m.commit_seconds.render("mailstead_admin_store_commit_seconds",
                                 "Time from submitting an admin change to its durable group commit");
  auto n = api.ops.counts();
  metric("mailstead_queue_depth", "gauge", "Messages in the outbound queue");
  out += "mailstead_queue_depth " + std::to_string(n.queue) + "\n";
  metric("mailstead_directory_entries", "gauge", "Entries in the directory, by kind");
  out += "mailstead_directory_entries{kind=\"domain\"} " + std::to_string(n.domains) + "\n";
  out += "mailstead_directory_entries{kind=\"user\"} " + std::to_string(n.users) + "\n";
  out += "mailstead_directory_entries{kind=\"alias\"} " + std::to_string(n.aliases) + "\n";
  out += "mailstead_directory_entries{kind=\"group\"} " + std::to_string(n.groups) + "\n";
  metric("mailstead_store_map_size_bytes", "gauge", "The store's current LMDB map size");
  out += "mailstead_store_map_size_bytes " + std::to_string(api.ops.store().map_size()) + "\n";
  return out;
}

}  // namespace

http::Handler make_metrics_handler(Api& api) {
  return [&api](http::Request& req) -> asio::awaitable<http::Response> {
    http::Response r;
    if (req.path != "/metrics" || (req.method != "GET" && req.method != "HEAD")) {
      r.status = 404;
      r.content_type = "text/plain; charset=utf-8";
      r.body = "only GET /metrics here\n";
      co_return r;
    }
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = render(api);
    co_return r;
  };
}

}  // namespace mailstead::api

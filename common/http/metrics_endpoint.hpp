// Prometheus /metrics over plain HTTP on a service's `metrics_listen` addresses: the
// process's registry (common/metrics) in the text format 0.0.4, on the shared HTTP session
// (docs/metrics.md).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/session.hpp"
#include "net/server.hpp"

namespace mailstead::http {

// GET or HEAD /metrics: the registry, after `refresh` (which sets gauges read at scrape
// time, e.g. the queue depth). Any other path or method: 404 / 405.
Handler metrics_handler(std::function<void()> refresh = {});

// The listeners for `addresses`, serving `shared` (made with metrics_handler, no TLS; it
// must outlive the server). Their connections count under listener "metrics".
std::vector<net::Listener> metrics_listeners(const std::vector<std::string>& addresses, Shared& shared);

}  // namespace mailstead::http

namespace mailstead::http {

// /metrics for a program that runs its own io_context instead of the server runner
// (mailstead-deliverd): acceptors on `addresses` opened now (throws std::runtime_error
// naming a bad address), sessions on `io` until the io_context stops.
class MetricsServer {
 public:
  MetricsServer(boost::asio::io_context& io, const std::vector<std::string>& addresses, Handler handler,
                std::string name);
  ~MetricsServer();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mailstead::http

// The /metrics handler and listeners (see metrics_endpoint.hpp).
#include "http/metrics_endpoint.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <list>

#include "metrics/metrics.hpp"

namespace mailstead::http {

Handler metrics_handler(std::function<void()> refresh) {
  return [refresh = std::move(refresh)](Request& req) -> boost::asio::awaitable<Response> {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    if (req.path != "/metrics") {
      r.status = 404;
      r.body = "only GET /metrics here\n";
      co_return r;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      r.status = 405;
      r.headers.emplace_back("Allow", "GET, HEAD");
      r.body = "only GET /metrics here\n";
      co_return r;
    }
    if (refresh) refresh();
    r.content_type = metrics::content_type;
    r.body = metrics::process().render();
    co_return r;
  };
}

std::vector<net::Listener> metrics_listeners(const std::vector<std::string>& addresses, Shared& shared) {
  std::vector<net::Listener> out;
  for (const auto& a : addresses)
    out.push_back({a,
                   [&shared](net::tcp::socket s) -> boost::asio::awaitable<void> {
                     Session one(shared, std::move(s));
                     co_await one.run();
                   },
                   "", "", "metrics"});
  return out;
}

namespace {
boost::asio::awaitable<void> serve_one(Shared& shared, net::tcp::socket socket) {
  Session one(shared, std::move(socket));
  co_await one.run();
}
}  // namespace

struct MetricsServer::State {
  Shared shared;
  std::list<net::tcp::acceptor> acceptors;
};

MetricsServer::MetricsServer(boost::asio::io_context& io, const std::vector<std::string>& addresses, Handler handler,
                             std::string name)
    : state_(std::make_unique<State>(State{Shared{Limits{}, nullptr, std::move(handler), std::move(name)}, {}})) {
  for (const auto& a : addresses) state_->acceptors.push_back(net::open_acceptor(io.get_executor(), a));
  for (auto& acc : state_->acceptors) {
    boost::asio::co_spawn(io,
                          net::accept_loop(acc,
                                           [&io, s = &state_->shared](net::tcp::socket sock) {
                                             boost::asio::co_spawn(io, serve_one(*s, std::move(sock)),
                                                                   boost::asio::detached);
                                           }),
                          boost::asio::detached);
  }
}

MetricsServer::~MetricsServer() {
  boost::system::error_code ec;
  for (auto& acc : state_->acceptors) acc.close(ec);
}

}  // namespace mailstead::http

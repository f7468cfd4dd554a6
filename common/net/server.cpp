// The server runner (see server.hpp).
#include "net/server.hpp"

#include <pthread.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <list>
#include <memory>
#include <thread>

#include "log/log.hpp"
#include "metrics/metrics.hpp"

namespace mailstead::net {

namespace asio = boost::asio;

int serve(const ServerOptions& options, std::vector<Listener> listeners) {
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (unsigned i = 0; i < threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  std::list<tcp::acceptor> acceptors;
  // Per listener: connections accepted, open now, and refused (counted once per process).
  struct Counts {
    metrics::Counter& total;
    metrics::Gauge& open;
    metrics::Counter& refused_ip;
    metrics::Counter& refused_listener;
  };
  std::vector<Counts> counts;
  auto& reg = metrics::process();
  for (const auto& l : listeners) {
    metrics::Labels labels{{"listener", l.name}, {"address", l.address}};
    auto with = [&](const char* reason) {
      auto x = labels;
      x.emplace_back("reason", reason);
      return x;
    };
    counts.push_back({reg.counter("mailstead_connections_total", "Connections accepted, by listener", labels),
                      reg.gauge("mailstead_connections", "Connections open now, by listener", labels),
                      reg.counter("mailstead_connections_refused_total",
                                  "Connections refused at accept by the connection limits, by listener and reason",
                                  with("per_ip")),
                      reg.counter("mailstead_connections_refused_total", "", with("per_listener"))});
  }
  try {
    for (auto& io : contexts) {
      for (std::size_t index = 0; index < listeners.size(); ++index) {
        auto& l = listeners[index];
        auto& acc = acceptors.emplace_back(open_acceptor(io->get_executor(), l.address));
        auto* iop = io.get();
        auto* lp = &l;
        asio::co_spawn(*io,
                       accept_loop(acc,
                                   [iop, lp, index, &options, c = &counts[index]](tcp::socket s) {
                                     boost::system::error_code e;
                                     auto ep = s.remote_endpoint(e);
                                     if (e) return;
                                     auto ip = ep.address().to_string();
                                     auto verdict = options.limits ? options.limits->admit(ip, index) : ConnectionLimits::Verdict::ok;
                                     if (verdict != ConnectionLimits::Verdict::ok) {
                                       ++(verdict == ConnectionLimits::Verdict::too_many_from_ip ? c->refused_ip
                                                                                                  : c->refused_listener);
                                       const auto& msg = verdict == ConnectionLimits::Verdict::too_many_from_ip
                                                             ? lp->too_many_from_ip
                                                             : lp->too_many_on_listener;
                                       if (!msg.empty()) s.write_some(asio::buffer(msg), e);
                                       log::info(options.name + ".connection.refused",
                                                 {{"peer", ip}, {"listener", lp->address},
                                                  {"reason", verdict == ConnectionLimits::Verdict::too_many_from_ip
                                                                 ? "per_ip"
                                                                 : "per_listener"}});
                                       s.close(e);
                                       return;
                                     }
                                     ++c->total;
                                     c->open.inc();
                                     asio::co_spawn(*iop, lp->session(std::move(s)),
                                                    [ip, index, &options, c](std::exception_ptr ex) {
                                                      c->open.dec();
                                                      if (options.limits) options.limits->release(ip, index);
                                                      if (!ex) return;
                                                      try {
                                                        std::rethrow_exception(ex);
                                                      } catch (const std::exception& err) {
                                                        log::error(options.name + ".session.exception", {{"error", err.what()}});
                                                      }
                                                    });
                                   }),
                       asio::detached);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead-%s: %s\n", options.name.c_str(), e.what());
    return 1;
  }
  if (options.after_bind) {
    if (auto why = options.after_bind(); !why.empty()) {
      std::fprintf(stderr, "mailstead-%s: %s\n", options.name.c_str(), why.c_str());
      return 1;
    }
  }
  log::info(options.name + ".listening", {{"threads", threads}, {"listeners", listeners.size()}});

  asio::signal_set signals(*contexts[0], SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      log::info("service.signal", {{"signal", "HUP"}});
      if (options.reload) options.reload(true);
      signals.async_wait(on_signal);
      return;
    }
    log::info("service.signal", {{"signal", sig == SIGTERM ? "TERM" : "INT"}});
    for (auto& io : contexts) io->stop();
  };
  signals.async_wait(on_signal);
  // Certificates renewed in place (certbot, a proxy's store) are picked up without a signal.
  asio::steady_timer reload_timer(*contexts[0]);
  std::function<void(const boost::system::error_code&)> on_tick = [&](const boost::system::error_code& ec) {
    if (ec) return;
    options.reload(false);
    reload_timer.expires_after(options.reload_check);
    reload_timer.async_wait(on_tick);
  };
  if (options.reload && options.reload_check.count() > 0) {
    reload_timer.expires_after(options.reload_check);
    reload_timer.async_wait(on_tick);
  }
  // service::run blocked these signals for sigwait; signal_set needs them delivered.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&, i] { contexts[i]->run(); });
  contexts[0]->run();
  for (auto& io : contexts) io->stop();
  for (auto& t : pool) t.join();
  if (options.before_teardown) options.before_teardown();
  return 0;
}

}  // namespace mailstead::net

// mailstead-smtpd: MX, submission and submissions listeners on one io_context per
// thread (SO_REUSEPORT acceptors on each), sessions as coroutines, a shared store.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <list>
#include <thread>

#include "auth/failure_limiter.hpp"
#include "auth/password.hpp"
#include "log/log.hpp"
#include "net/listener.hpp"
#include "net/tls.hpp"
#include "service/service.hpp"
#include "session/session.hpp"
#include "settings.hpp"
#include "store/store.hpp"

using namespace mailstead;
namespace asio = boost::asio;

namespace {

int serve(const service::Context& ctx, const smtp::Settings& settings) {
  std::error_code ec;
  std::string why;
  auto store = store::open({ctx.core.store_dir(), ctx.core.store.map_size, ctx.core.store.max_readers,
                            ctx.core.store.max_batches_per_commit},
                           ec, why);
  if (!store) {
    std::fprintf(stderr, "mailstead-smtpd: %s\n", why.c_str());
    return 1;
  }
  std::optional<asio::ssl::context> tls;
  try {
    tls.emplace(net::make_server_tls(ctx.core.tls_cert(), ctx.core.tls_key(), ctx.core.tls.min_version));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead-smtpd: %s\n", e.what());
    return 1;
  }
  auth::VerifiedCache cache(ctx.core.auth.verified_cache_ttl, ctx.core.auth.verified_cache_entries);
  auth::FailureLimiter limiter({settings.auth_max_failures_per_ip, settings.auth_max_failures_per_account,
                                settings.auth_failure_window, std::chrono::seconds(2)});
  net::ConnectionLimits limits(settings.max_connections, settings.max_connections_per_ip);
  asio::thread_pool slow_pool(2);
  smtp::Shared shared{settings, ctx.core, *store, *tls, cache, limiter, limits, slow_pool,
                      directory::RoutingSettings{ctx.core.routing.recipient_delimiter}};

  unsigned threads = settings.threads ? settings.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (unsigned i = 0; i < threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  std::list<net::tcp::acceptor> acceptors;
  try {
    for (auto& io : contexts) {
      auto add = [&](const std::vector<std::string>& addrs, smtp::Port port) {
        for (const auto& a : addrs) {
          auto& acc = acceptors.emplace_back(net::open_acceptor(io->get_executor(), a));
          auto* iop = io.get();
          asio::co_spawn(*io,
                         net::accept_loop(acc,
                                          [&shared, port, iop](net::tcp::socket s) {
                                            boost::system::error_code e;
                                            auto ep = s.remote_endpoint(e);
                                            if (e) return;
                                            auto ip = ep.address().to_string();
                                            auto verdict = shared.connection_limits.admit(ip);
                                            if (verdict != net::ConnectionLimits::Verdict::ok) {
                                              if (port != smtp::Port::submissions) {
                                                const char* msg =
                                                    verdict == net::ConnectionLimits::Verdict::too_many_from_ip
                                                        ? "421 4.7.0 Too many connections from your address, try again later\r\n"
                                                        : "421 4.3.2 Too many connections, try again later\r\n";
                                                s.write_some(asio::buffer(msg, std::strlen(msg)), e);
                                              }
                                              log::info("smtp.connection.refused", {{"peer", ip}});
                                              s.close(e);
                                              return;
                                            }
                                            auto session = std::make_shared<smtp::Session>(shared, std::move(s), port);
                                            asio::co_spawn(
                                                *iop, [session]() { return session->run(); },
                                                [&shared, ip, session](std::exception_ptr ex) {
                                                  shared.connection_limits.release(ip);
                                                  if (ex) {
                                                    try {
                                                      std::rethrow_exception(ex);
                                                    } catch (const std::exception& err) {
                                                      log::error("smtp.session.exception", {{"error", err.what()}});
                                                    }
                                                  }
                                                });
                                          }),
                         asio::detached);
        }
      };
      add(settings.mx_listen, smtp::Port::mx);
      add(settings.submission_listen, smtp::Port::submission);
      add(settings.submissions_listen, smtp::Port::submissions);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mailstead-smtpd: %s\n", e.what());
    return 1;
  }
  if (auto dropped = service::drop_privileges(ctx.core); !dropped.empty()) {
    std::fprintf(stderr, "mailstead-smtpd: %s\n", dropped.c_str());
    return 1;
  }
  log::info("smtpd.listening", {{"threads", threads}, {"mx", settings.mx_listen.size()},
                                {"submission", settings.submission_listen.size()},
                                {"submissions", settings.submissions_listen.size()}});

  asio::signal_set signals(*contexts[0], SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    log::info("service.signal", {{"signal", sig == SIGTERM ? "TERM" : "INT"}});
    for (auto& io : contexts) io->stop();
  });
  // The stop signals were blocked for sigwait by service::run; signal_set needs them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&, i] { contexts[i]->run(); });
  contexts[0]->run();
  for (auto& io : contexts) io->stop();
  for (auto& t : pool) t.join();
  slow_pool.join();
  store->close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  smtp::Settings settings;
  return service::run(
      argc, argv, "mailstead-smtpd", [&](config::Source& src) { settings = smtp::load_settings(src); },
      [&](const service::Context& ctx) { return serve(ctx, settings); });
}

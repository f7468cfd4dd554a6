// mailstead-deliverd: the delivery service. Sends the outbound queue (MX or file transport),
// delivers what the server produces for local addresses through local delivery, retries,
// bounces; teaches spamd from moves into and out of Junk (spam_learner.hpp); and, in the chat
// gateway's polling mode, reads its IMAP mailbox (poll/stream_poller.hpp). Several instances
// may run against one store: leases keep them apart.
#include <pthread.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>

#include "counters.hpp"
#include "engine.hpp"
#include "forwarder.hpp"
#include "http/metrics_endpoint.hpp"
#include "log/log.hpp"
#include "service/service.hpp"
#include "settings.hpp"
#include "poll/stream_poller.hpp"
#include "spam_learner.hpp"
#include "store/store.hpp"

using namespace mailstead;
namespace asio = boost::asio;

int main(int argc, char** argv) {
  outbound::Settings settings;
  streams::Settings stream_settings;  // [streams] poll_* and forward_*: the IMAP poller, the forwarding queue
  return service::run(
      argc, argv, "mailstead-deliverd",
      [&](config::Source& src) {
        settings = outbound::load_settings(src);
        stream_settings = streams::load_settings(src);
      },
      [&](const service::Context& ctx) {
        auto store = service::open_store(ctx);
        if (!store) return 1;
        asio::io_context io(1);
        std::unique_ptr<http::MetricsServer> metrics;  // [outbound] metrics_listen, bound before privileges drop
        try {
          outbound::counters();  // every counter shows from the start, at 0
          metrics = std::make_unique<http::MetricsServer>(
              io, settings.metrics_listen, http::metrics_handler([&store] { outbound::read_queue_depth(*store); }),
              "deliverd.metrics");
        } catch (const std::exception& e) {
          std::fprintf(stderr, "mailstead-deliverd: %s\n", e.what());
          return 1;
        }
        if (auto why = service::drop_privileges(ctx.core); !why.empty()) {
          std::fprintf(stderr, "mailstead-deliverd: %s\n", why.c_str());
          return 1;
        }
        std::unique_ptr<outbound::Engine> engine;
        try {
          engine = std::make_unique<outbound::Engine>(io, *store, ctx.core, settings);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "mailstead-deliverd: %s\n", e.what());
          return 1;
        }
        std::unique_ptr<outbound::SpamLearner> learner;
        if (ctx.core.spam.enabled && ctx.core.spam.learn) {
          learner = std::make_unique<outbound::SpamLearner>(io, *store, ctx.core, engine->owner());
          asio::co_spawn(io, learner->run(), [](std::exception_ptr e) {
            if (!e) return;
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              log::error("spam.learn.exception", {{"error", ex.what()}});
            }
          });
        }
        std::unique_ptr<poll::StreamPoller> poller;
        if (!stream_settings.poll.host.empty()) {
          try {
            poller = std::make_unique<poll::StreamPoller>(io, *store, ctx.core, stream_settings);
          } catch (const std::exception& e) {
            std::fprintf(stderr, "mailstead-deliverd: %s\n", e.what());
            return 1;
          }
          asio::co_spawn(io, poller->run(), [](std::exception_ptr e) {
            if (!e) return;
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              log::error("stream.poll.exception", {{"error", ex.what()}});
            }
          });
        }
        auto forwarder = outbound::start_forwarder(io, *store, ctx.core, stream_settings.forward, engine->owner());
        asio::signal_set signals(io, SIGTERM, SIGINT);
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
          if (ec) return;
          log::info("service.signal", {{"signal", sig == SIGTERM ? "TERM" : "INT"}});
          if (learner) learner->stop();
          if (poller) poller->stop();
          if (forwarder) forwarder->stop();
          engine->stop();
        });
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
        int rc = 0;
        asio::co_spawn(io, engine->run(), [&](std::exception_ptr e) {
          if (e) {
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              log::error("delivery.exception", {{"error", ex.what()}});
              rc = 1;
            }
          }
          signals.cancel();
          io.stop();
        });
        io.run();
        if (forwarder) forwarder->release_leases();
        learner.reset();
        poller.reset();
        forwarder.reset();
        engine.reset();
        store->close();
        return rc;
      });
}

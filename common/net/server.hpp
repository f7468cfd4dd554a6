// Runs a protocol server: one io_context per thread, an acceptor per listener per thread
// (SO_REUSEPORT), connection limits at accept (per listener and per IP), one coroutine per
// session, SIGTERM/SIGINT to stop and SIGHUP (or a periodic check) to reload the TLS
// certificate. Services give it their listeners and a function that runs one session.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "net/listener.hpp"

namespace mailstead::net {

struct Listener {
  std::string address;  // host:port
  // Runs one session on the connection (on the accepting thread's io_context).
  std::function<boost::asio::awaitable<void>(tcp::socket)> session;
  // Written to a refused connection before it is closed ("" for none, e.g. on TLS ports).
  std::string too_many_from_ip, too_many_on_listener;
  // The listener's kind in metrics ("mx", "imaps", "metrics"); its connections are counted
  // under {listener=name, address=address} (docs/metrics.md).
  std::string name = "";
};

struct ServerOptions {
  std::string name;  // for logs: "smtpd", "imapd"
  unsigned threads = 0;  // 0: one per core
  ConnectionLimits* limits = nullptr;
  // Called once every acceptor is open, before serving (drop privileges here); a non-empty
  // return stops the server with that message.
  std::function<std::string()> after_bind;
  // Called on SIGHUP with force = true, and every `reload_check` (0: never) with force =
  // false: the TLS certificate reload (net::Certificate::reload).
  std::function<void(bool force)> reload;
  std::chrono::milliseconds reload_check{0};
  // Called once the threads have stopped, before the io_contexts are destroyed: join here the
  // pools whose jobs resume sessions on them.
  std::function<void()> before_teardown;
};

// Serves until SIGTERM/SIGINT. Returns a process exit code; errors go to stderr.
int serve(const ServerOptions& options, std::vector<Listener> listeners);

}  // namespace mailstead::net

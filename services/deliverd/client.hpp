// One outbound SMTP connection (RFC 5321 client side): connect, greeting, EHLO with our
// hostname (HELO when EHLO is refused), STARTTLS whenever offered (RFC 3207), then any
// number of transactions with PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152)
// and SMTPUTF8 (RFC 6531). Every wait has its RFC 5321 4.5.3.2 timeout. Each recipient
// ends delivered, deferred or failed with the reply that decided it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "proto/reply.hpp"
#include "queue/queue.hpp"

namespace boost::asio::ssl {
class context;
}

namespace mailstead::outbound {

struct Timeouts {  // RFC 5321 4.5.3.2 (connect: Postfix's smtp_connect_timeout)
  std::chrono::milliseconds connect{std::chrono::seconds(30)};
  std::chrono::milliseconds greeting{std::chrono::minutes(5)};    // 4.5.3.2.1
  std::chrono::milliseconds command{std::chrono::minutes(5)};     // EHLO, MAIL 4.5.3.2.2, RCPT 4.5.3.2.3
  std::chrono::milliseconds data_init{std::chrono::minutes(2)};   // 4.5.3.2.4
  std::chrono::milliseconds data_block{std::chrono::minutes(3)};  // 4.5.3.2.5
  std::chrono::milliseconds data_done{std::chrono::minutes(10)};  // 4.5.3.2.6
};

struct ClientOptions {
  std::string helo = "localhost";
  Timeouts timeouts;
  boost::asio::ssl::context* tls = nullptr;  // null: never STARTTLS
  bool require_tls = false;                  // no delivery without TLS (MTA-STS enforce, relays)
  bool implicit_tls = false;                 // TLS from the first byte (port 465)
  bool verify_peer = false;                  // check the certificate against `host`
  bool relay = false;                        // a configured relay: mismatched security is explained
  std::string auth_user, auth_password;      // AUTH PLAIN/LOGIN after TLS (relays)
  // MX security (security.hpp). `pkix`: the certificate must chain to the context's CAs
  // and name `host` (MTA-STS enforce); with `report_only` it is checked but the handshake
  // goes on whatever the result (MTA-STS testing: verify_error() tells). `dane`: usable
  // TLSA records of the host (RFC 7672), checked by OpenSSL's DANE support, no PKIX.
  bool pkix = false;
  bool report_only = false;
  std::vector<dns::Tlsa> dane;
};

struct Envelope {
  std::uint64_t queue_id = 0;
  std::string sender;
  std::vector<std::string> recipients;
  std::string message;  // the bytes to send, CRLF lines
};

struct Target {
  std::string host;     // the name (MX host, relay), for logs and TLS
  std::string address;  // the IP to connect to
  std::uint16_t port = 25;
  std::string remote() const { return host + " [" + address + "]:" + std::to_string(port); }
};

class Connection {
 public:
  Connection(boost::asio::any_io_executor ex, ClientOptions options);
  ~Connection();
  // Connects and greets. False: `failure()` says why in words; `transient()` whether to
  // try another host or later (a 5xx greeting is not).
  boost::asio::awaitable<bool> open(const Target& target);
  // One transaction. The connection stays usable unless it broke (usable() false), in
  // which case the recipients not yet decided are deferred with the reason.
  boost::asio::awaitable<std::vector<queue::Outcome>> send(const Envelope& env);
  boost::asio::awaitable<void> quit();

  bool usable() const;
  bool tls_failed() const;  // the STARTTLS handshake failed (retry in plain text may work)
  bool connected() const;   // the TCP connection was made: failure() holds the server's words
  const std::string& failure() const;
  bool transient() const;
  std::string tls_version() const;
  // Why the peer's certificate did not verify ("" when it did or was not checked).
  const std::string& verify_error() const;
  std::string remote() const;
  const Capabilities& capabilities() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailstead::outbound

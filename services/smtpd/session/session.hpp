// One SMTP session: a coroutine that moves bytes between the connection and the pure
// core (proto/), and acts on each command through the command table. RFC 5321, with
// STARTTLS (3207), AUTH (4954), PIPELINING (2920), CHUNKING (3030), SMTPUTF8 (6531).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/core_settings.hpp"
#include "directory/routing.hpp"
#include "inbound/auth_checks.hpp"
#include "inbound/checks.hpp"
#include "inbound/protection.hpp"
#include "metrics/metrics.hpp"
#include "net/listener.hpp"
#include "net/stream.hpp"
#include "proto/command.hpp"
#include "proto/input.hpp"
#include "settings.hpp"
#include "sieve/sieve.hpp"
#include "counters.hpp"
#include "list_gateway.hpp"
#include "spool.hpp"
#include "stream_gateway.hpp"

namespace mailstead::store {
class Store;
}
namespace mailstead::auth {
class VerifiedCache;
class FailureLimiter;
}  // namespace mailstead::auth

namespace mailstead::smtp {

namespace asio = boost::asio;

enum class Port { mx, submission, submissions };
const char* port_name(Port p);

// What every session of the process shares. Thread-safe where sessions on different
// threads touch it (store, cache, limiter, limits, pool).
struct Shared {
  const Settings& settings;
  const config::CoreSettings& core;
  store::Store& store;
  asio::ssl::context& tls;
  auth::VerifiedCache& password_cache;
  auth::FailureLimiter& auth_limiter;
  net::ConnectionLimits& connection_limits;
  asio::thread_pool& slow_pool;  // argon2id runs here, never on a session thread
  directory::RoutingSettings routing;
  Spool& spool;  // message bytes on their way in, and the budgets they draw on
  asio::thread_pool& sieve_pool;  // Sieve runs here at delivery (docs/sieve.md)
  inbound::Protection& protection;  // DNSBL, lists, rates, greylisting on the MX (docs/inbound.md)
  inbound::AuthChecker* authenticator = nullptr;  // SPF/DKIM/DMARC on the MX; null: [dmarc] enabled = false
  StreamRateLimiter stream_limiter{settings.streams.rate_limits};  // the chat gateway (docs/streams.md)
};

struct Recipient {
  std::string address;  // as resolved (normalised)
  directory::Delivery delivery;
};

// The state of one mail transaction (MAIL … DATA/BDAT LAST), reset by RSET and after.
struct Transaction {
  bool active = false;
  Mail mail;
  std::vector<Recipient> recipients;
  bool bdat = false;        // BDAT chunks are being collected
  bool bdat_failed = false;  // a chunk was refused: the rest are read and discarded
  std::unique_ptr<SpooledMessage> bdat_message;
  std::unique_ptr<MessageScanner> bdat_scan;
  std::uint64_t bdat_size = 0;
  // The inbound checks' verdict: the implicit keep files into the recipient's \Junk
  // mailbox unless their Sieve script decides otherwise (sieve::DeliveryContext::junk).
  // Spam scanning sets it at junk_threshold; any other check may set it too.
  bool junk = false;
  sieve::SpamScore spam;  // what spamtest sees (not tested unless scanned)
  // The client or sender is on an allowlist (the administrator's, or every accepted
  // recipient's own): DNSBL and greylisting were skipped; later checks (spam) may skip too.
  bool allowlisted = false;
  // The MX's SPF/DKIM/DMARC verdict, when they ran: list posts are proven with it (docs/lists.md).
  std::optional<mailstead::inbound::AuthVerdict> checks;

  // dmarc=fail, whatever the policy did: no auto-reply (docs/sieve.md).
  bool dmarc_failed() const { return checks && checks->dmarc == "fail"; }
  // The From domain when DMARC passed (an aligned SPF or DKIM pass; RFC 7489), else "": the
  // chat gateway takes it as proof that the From is who it says (docs/streams.md).
  std::string dmarc_pass_domain() const { return checks && checks->dmarc == "pass" ? checks->from_domain : std::string(); }
};

class Session {
 public:
  Session(Shared& shared, asio::ip::tcp::socket socket, Port port);
  asio::awaitable<void> run();

 private:
  friend struct Handlers;
  // I/O
  asio::awaitable<bool> read_more(std::chrono::milliseconds timeout);
  asio::awaitable<void> receive(boost::system::error_code& ec);  // one read into in_
  asio::awaitable<std::optional<std::string>> read_line();
  asio::awaitable<bool> flush();
  void send(std::string s) { out_ += s; }
  void send(int code, std::string_view enhanced, std::string_view text);
  // A reply to a client mistake: counts toward max_errors.
  void send_error(int code, std::string_view enhanced, std::string_view text);
  void log_line(const char* dir, std::string_view line);

  // Commands (cmd_*.cpp)
  asio::awaitable<void> dispatch(const Command& cmd);
  void handle_helo(const Helo& h);
  asio::awaitable<void> handle_starttls();
  asio::awaitable<void> handle_auth(const Auth& a);
  void handle_mail(const Mail& m);
  void handle_rcpt(const Rcpt& r);
  bool allow_stream_rcpt(const directory::Delivery& d);
  asio::awaitable<void> handle_data();
  asio::awaitable<void> handle_bdat(const Bdat& b);
  // Checks a complete message, brings it into memory within the budget, then delivers it.
  asio::awaitable<void> finish_message(SpooledMessage& message, const MessageScanner& scan, bool too_big);
  asio::awaitable<void> deliver(std::string_view blob, const std::string& id);
  // The transaction's list recipients as queued copies, or why the message is refused (session/lists.cpp).
  ListFanout list_fanout(std::string_view blob, const std::string& id);
  // SPF, DKIM and DMARC of a message arriving on the MX (session/auth.cpp).
  asio::awaitable<mailstead::inbound::AuthVerdict> authenticate(std::string_view message, const std::string& id);
  // Spam scanning (spam_check.cpp): a refusal text at reject_threshold; otherwise adds the
  // X-Spam-* fields to `prefix`, sets txn_.junk and txn_.spam, and fills `rewritten` with
  // the whole message when it cannot be the spooled one with the prefix (forged X-Spam-*
  // fields removed, or a prefix over SpooledMessage::prefix_room).
  asio::awaitable<std::optional<std::string>> check_spam(std::string_view message, std::string& prefix,
                                                         std::string& rewritten);
  std::optional<std::string> check_quota(const std::vector<std::uint64_t>& users, std::uint64_t extra);

  // Inbound protections on the MX (inbound/session_hooks.cpp, docs/inbound.md).
  bool inbound_admit();                       // the per-IP connection rate, at connect
  asio::awaitable<void> inbound_look_up();    // DNSBL, FCrDNS, HELO: once, before the first RCPT
  std::optional<inbound::Refusal> inbound_rcpt(const directory::Delivery& d);  // lists, DNSBL, greylisting
  std::string inbound_trace() const;          // header lines recording the results

  void reset_transaction() { txn_ = Transaction{}; }
  std::string received_header(const std::string& id) const;

  Shared& shared_;
  std::optional<metrics::GaugeHold> logged_in_;  // mailstead_authenticated_sessions while it lives
  std::unique_ptr<net::Stream> stream_;
  Port port_;
  std::string id_;
  std::string peer_;
  std::string in_, out_;
  bool skipping_line_ = false;
  bool quit_ = false;
  std::uint32_t errors_ = 0;
  std::uint32_t messages_ = 0;

  std::string helo_;
  bool esmtp_ = false;
  std::optional<std::uint64_t> user_id_;
  std::string user_address_;
  Transaction txn_;
  inbound::Findings inbound_;  // inbound_.iprev is the iprev result (RFC 8601) for Authentication-Results
};

}  // namespace mailstead::smtp

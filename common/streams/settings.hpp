// The [streams] section (docs/configuration.md, docs/streams.md): the chat gateway's
// address pattern, its rate limits and the conversion limits. Read by smtpd, the admin API
// and the CLI.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "streams/address.hpp"
#include "streams/convert.hpp"

namespace mailstead::config {
class Source;
}

namespace mailstead::streams {

struct RateLimit {
  std::uint32_t count = 0;
  std::chrono::milliseconds window{0};
};

// Forwarding to other chat systems, done by mailstead-deliverd (docs/streams.md).
struct ForwardSettings {
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};      // connect + TLS + request + answer
  std::chrono::milliseconds retry_base{std::chrono::seconds(30)};   // 30 s, 1 min, 2 min…
  std::chrono::milliseconds retry_max{std::chrono::hours(1)};       // …capped
  std::chrono::milliseconds max_age{std::chrono::hours(48)};        // then the job fails
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};  // looks for new jobs
  std::string ca_file;  // CAs the receivers' certificates are checked against ("": the system's)
};

struct Settings {
  // One %s: "%s@streams.example.org". Empty: the gateway is off (stream addresses unknown).
  std::string gateway_pattern;
  std::optional<GatewayPattern> pattern;  // parsed
  // Per gateway domain, counted at RCPT; over any: 451 4.7.1 (docs/streams.md).
  std::vector<RateLimit> rate_limits{{50, std::chrono::seconds(60)},
                                     {120, std::chrono::seconds(300)},
                                     {600, std::chrono::seconds(3600)}};
  ConvertLimits convert;
  std::string bot_name = "Email gateway";
  // Polling mode (docs/streams.md, "Polling an IMAP mailbox"): deliverd reads an external
  // mailbox over IMAPS instead of smtpd receiving the gateway's mail. Empty host: off.
  // The password is the secrets file's [streams] poll_password.
  struct Poll {
    std::string host;
    std::uint32_t port = 993;
    std::string user;
    std::string mailbox = "INBOX";
    std::chrono::milliseconds interval{std::chrono::minutes(1)};  // without IDLE
    bool after_delete = true;                                      // poll_after = delete | flag
    std::string ca_file;                                           // empty: the system's CAs
    bool verify = true;                                            // poll_tls_verify
    std::uint64_t max_message_size = 25u << 20;   // bigger: flagged and left, not fetched
    std::uint64_t max_line = 1u << 20;            // one response line without its literals
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};   // each command's answer
    std::chrono::milliseconds idle_restart{std::chrono::minutes(25)};  // RFC 2177: < 29 min
    std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};    // reconnect back-off cap
    std::uint32_t batch = 100;                    // messages per round
  } poll;
  ForwardSettings forward;
  // Notification emails to members about new messages (docs/streams.md, "Notifications and
  // replies"); off: none are queued (reply addresses already handed out keep working).
  bool notifications = true;
  // Their From address; default: "noreply" in the gateway pattern (noreply@streams.example.org).
  std::string notify_from;
  // How long a reply address (mm…) works after the notification that made it, in seconds.
  std::int64_t reply_token_lifetime = 30 * 86400;
};

Settings load_settings(config::Source& src);
// "50/60s" → {50, 60 s}; nullopt when malformed.
std::optional<RateLimit> parse_rate_limit(const std::string& text);

}  // namespace mailstead::streams

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

// Settings of the MX's connection and RCPT-stage protections (docs/inbound.md): the [dnsbl]
// and [greylist] sections, and the per-IP connection rate in [smtpd]. Every limit has a
// default here, a key in docs/configuration.md and a test.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mailstead::config {
class Source;
}

namespace mailstead::inbound {

struct DnsblZone {
  std::string zone;
  std::uint32_t weight = 1;
};

struct ProtectionSettings {
  struct Dnsbl {
    bool enabled = true;
    std::vector<DnsblZone> zones{{"zen.spamhaus.org", 1}};
    std::uint32_t threshold = 1;  // the sum of the weights of the listing zones that refuses
    std::chrono::milliseconds timeout{std::chrono::seconds(3)};  // per look-up (fail open after)
    // Local parts that are accepted from listed clients: RFC 5321 4.5.1 and RFC 2142.
    std::vector<std::string> exempt_recipients{"postmaster", "abuse"};
  } dnsbl;

  struct Greylist {
    bool enabled = false;
    std::chrono::milliseconds delay{std::chrono::minutes(5)};  // a retry earlier gets 451 again
    std::chrono::milliseconds retry_window{std::chrono::hours(24)};  // a first retry after this starts over
    std::chrono::milliseconds expiry{std::chrono::hours(24 * 35)};  // a passed triplet is remembered this long
  } greylist;

  // New connections per client IP per minute on the MX (0: no limit); more get 421 4.7.0.
  std::uint32_t max_connection_rate_per_ip = 60;
  // Forward-confirmed reverse DNS of the client: "record" (the default: a header only) or
  // "reject" (550 5.7.25 at RCPT when it fails; a temperror is never refused).
  bool iprev_reject = false;
  // Clients exempt from the DNS checks (DNSBL, reverse DNS, HELO) and greylisting: local
  // programs (a webmail on this host). Addresses or CIDR ranges; blocklists still apply.
  std::vector<std::string> trusted_clients{"127.0.0.1", "::1"};
};

// Reads [dnsbl], [greylist] and [smtpd] max_connection_rate_per_ip / iprev_policy.
void load_protection_settings(config::Source& src, ProtectionSettings& s);

}  // namespace mailstead::inbound

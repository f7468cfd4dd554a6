// The MX's DNS look-ups about the client, made once per connection at its first RCPT
// (docs/inbound.md): DNSBL zones, forward-confirmed reverse DNS and the HELO name, all in
// parallel through the shared asynchronous resolver, each bounded by [dnsbl] timeout.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "inbound/iprev.hpp"
#include "inbound/settings.hpp"

namespace mailstead::dns {
class Resolver;
struct Answer;
}  // namespace mailstead::dns

namespace mailstead::inbound {

struct DnsblHit {
  std::string zone;
  std::uint32_t weight = 0;
  std::string code;    // the A record returned ("127.0.0.2")
  std::string reason;  // the zone's TXT record ("" when it has none)
};

struct Findings {
  bool done = false;
  Iprev iprev;
  HeloCheck helo;
  std::vector<DnsblHit> dnsbl;  // the zones that list the client
  std::uint32_t dnsbl_score = 0;
  bool dnsbl_listed = false;  // score >= threshold
  std::vector<std::string> dnsbl_errors;  // "zone: why" for look-ups that failed open
};

// The answer codes a DNSBL uses for "listed": 127.0.0.0/8 except 127.255.255.0/24, which
// Spamhaus uses for errors (127.255.255.254: a public resolver; .255: rate limited).
bool is_listing_code(const std::string& a);
// The reply text for a refusal: the first hit's TXT reason, made safe for one SMTP reply
// line (printable ASCII, at most 200 bytes), or a default naming the zone.
std::string refusal_text(const DnsblHit& hit);

// `ip` and `helo` must outlive the look-up (the caller's named locals).
boost::asio::awaitable<Findings> look_up(dns::Resolver& resolver, const ProtectionSettings& settings, const std::string& client,
                                         const std::string& helo_name, bool dnsbl);

}  // namespace mailstead::inbound

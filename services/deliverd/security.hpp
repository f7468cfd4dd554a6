// The TLS policy for one MX host (docs/delivery.md "MTA-STS and DANE"): DANE (RFC 7672)
// when the host's TLSA records come from a DNSSEC-validated answer, else the domain's
// MTA-STS policy (RFC 8461 4, 5), else opportunistic STARTTLS (RFC 7435). DANE takes
// precedence over MTA-STS (RFC 8461 2). Relays have their own settings and never come here.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "mta_sts.hpp"
#include "proto/dane.hpp"

namespace mailstead::dns {
class Resolver;
}

namespace mailstead::outbound {

struct HopSecurity {
  bool skip = false;        // do not use this host: `why` says why (a 4.7.x reason)
  std::string why;
  bool require_tls = false;  // never in clear text
  bool pkix = false;         // MTA-STS: the certificate must be valid and name the host
  bool report_only = false;  // MTA-STS testing: check, report, deliver anyway
  std::vector<dns::Tlsa> dane;  // usable TLSA records: DANE authentication
  std::string label;         // for the send log: "dane", "mta-sts enforce id=…", "" (opportunistic)
  std::string testing_problem;  // MTA-STS testing: what enforce would have refused
};

// `dane`: look TLSA records up at all (`[outbound] dane`); `port`: the MX port (25).
boost::asio::awaitable<HopSecurity> hop_security(dns::Resolver& resolver, bool dane, std::uint16_t port, std::string host,
                                                 const mta_sts::Applied* sts);

}  // namespace mailstead::outbound

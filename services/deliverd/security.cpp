// Per-MX-host TLS policy: DANE, MTA-STS or opportunistic (see security.hpp).
#include "security.hpp"

#include "dns/resolver.hpp"

namespace mailstead::outbound {

boost::asio::awaitable<HopSecurity> hop_security(dns::Resolver& resolver, bool dane, std::uint16_t port, std::string host,
                                                 const mta_sts::Applied* sts) {
  HopSecurity out;
  if (dane) {
    // RFC 7672 2.2.2: TLSA records are looked up only for a host whose address records are
    // DNSSEC-secure: an insecure host cannot have trustworthy TLSA records.
    auto a = co_await resolver.query(host, dns::Type::a);
    bool secure = a.authenticated && (a.ok() || a.status == dns::Status::nodata);
    if (!secure) {
      auto aaaa = co_await resolver.query(host, dns::Type::aaaa);
      secure = aaaa.authenticated && aaaa.ok();
    }
    if (secure) {
      std::string name = "_" + std::to_string(port) + "._tcp." + host;
      auto tlsa = co_await resolver.query(name, dns::Type::tlsa);
      if (tlsa.status == dns::Status::servfail || tlsa.status == dns::Status::timeout) {
        // 2.2.2: a failed (possibly bogus) TLSA lookup of a secure host: that host is not
        // used; with no other host the mail waits.
        out.skip = true;
        out.why = "4.7.5 the TLSA lookup of " + name + " failed (" +
                  (tlsa.error.empty() ? std::string(dns::status_name(tlsa.status)) : tlsa.error) +
                  "): DANE cannot be checked for " + host;
        co_return out;
      }
      if (tlsa.ok() && tlsa.authenticated) {
        for (const auto& t : tlsa.tlsa)
          if (usable_tlsa(t)) out.dane.push_back(t);
        out.require_tls = true;
        if (out.dane.empty()) {
          // 2.2: TLSA records, none usable: encrypted, not authenticated, never in clear.
          out.label = "dane (no usable TLSA record: encrypted, not authenticated)";
        } else {
          out.label = "dane";
        }
        co_return out;  // DANE takes precedence over MTA-STS (RFC 8461 2)
      }
    }
  }
  if (sts && sts->policy && sts->policy->mode != mta_sts::Mode::none) {
    out.label = sts->describe();
    bool listed = mta_sts::policy_allows(*sts->policy, host);
    if (sts->policy->mode == mta_sts::Mode::enforce) {
      if (!listed) {
        out.skip = true;
        out.why = "4.7.5 the MX host " + host + " is not listed in the MTA-STS policy (" + out.label + ")";
        co_return out;
      }
      out.require_tls = true;
      out.pkix = true;
    } else {
      out.pkix = true;
      out.report_only = true;
      if (!listed) out.testing_problem = "the MX host " + host + " is not listed in the policy";
    }
  }
  co_return out;
}

}  // namespace mailstead::outbound

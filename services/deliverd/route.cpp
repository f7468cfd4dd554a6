// MX → A/AAAA resolution (see route.hpp).
#include "route.hpp"

#include "dns/resolver.hpp"

namespace mailstead::outbound {

namespace asio = boost::asio;

asio::awaitable<Route> resolve_route(dns::Resolver& resolver, std::string domain) {
  Route route;
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    // An address literal (RFC 5321 4.1.3): that host, no DNS.
    auto inner = domain.substr(1, domain.size() - 2);
    if (inner.rfind("IPv6:", 0) == 0 || inner.rfind("ipv6:", 0) == 0) inner = inner.substr(5);
    route.hops.push_back({domain, {inner}});
    co_return route;
  }
  auto mx = co_await resolver.query(domain, dns::Type::mx);
  std::vector<std::string> hosts;
  switch (mx.status) {
    case dns::Status::ok: {
      bool null_mx = mx.mx.size() == 1 && mx.mx.front().host.empty();
      if (null_mx) {
        route.kind = Route::Kind::fail;
        route.why = "5.1.10 " + domain + " accepts no mail (null MX, RFC 7505)";
        co_return route;
      }
      for (const auto& m : mx.mx)
        if (!m.host.empty()) hosts.push_back(m.host);
      break;
    }
    case dns::Status::nodata:
      hosts.push_back(domain);  // the implicit MX (RFC 5321 5.1)
      break;
    case dns::Status::nxdomain:
      route.kind = Route::Kind::fail;
      route.why = "5.1.2 the domain " + domain + " does not exist (DNS: no such domain)";
      co_return route;
    default:
      route.kind = Route::Kind::defer;
      route.why = "4.4.3 DNS lookup of the MX of " + domain + " failed: " +
                  (mx.error.empty() ? dns::status_name(mx.status) : mx.error);
      co_return route;
  }
  bool any_transient = false;
  std::string last_why;
  for (const auto& h : hosts) {
    Hop hop{h, {}};
    for (auto type : {dns::Type::a, dns::Type::aaaa}) {
      auto a = co_await resolver.query(h, type);
      if (a.ok()) {
        hop.addresses.insert(hop.addresses.end(), a.addresses.begin(), a.addresses.end());
      } else if (a.status == dns::Status::servfail || a.status == dns::Status::timeout) {
        any_transient = true;
        last_why = "DNS lookup of " + h + " failed: " + (a.error.empty() ? dns::status_name(a.status) : a.error);
      }
    }
    if (!hop.addresses.empty()) route.hops.push_back(std::move(hop));
  }
  if (route.hops.empty()) {
    if (any_transient) {
      route.kind = Route::Kind::defer;
      route.why = "4.4.3 " + last_why;
    } else {
      route.kind = Route::Kind::fail;
      route.why = hosts.size() == 1 && hosts[0] == domain
                      ? "5.1.2 " + domain + " has no MX and no address records"
                      : "5.4.4 none of the MX hosts of " + domain + " has an address";
    }
  }
  co_return route;
}

}  // namespace mailstead::outbound

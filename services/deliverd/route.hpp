// Where mail for a domain goes (RFC 5321 5.1): its MX hosts by preference, each host's
// IPv4 and IPv6 addresses; no MX: the domain's own addresses (the implicit MX); a null MX
// (RFC 7505): nowhere, bounce at once. DNS failures defer; names that do not exist fail.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

namespace mailstead::dns {
class Resolver;
}

namespace mailstead::outbound {

struct Hop {
  std::string host;
  std::vector<std::string> addresses;
};

struct Route {
  enum class Kind { ok, defer, fail } kind = Kind::ok;
  std::vector<Hop> hops;
  std::string why;  // defer/fail: "5.1.10 …" / "4.4.3 …" in words
};

boost::asio::awaitable<Route> resolve_route(dns::Resolver& resolver, std::string domain);

}  // namespace mailstead::outbound

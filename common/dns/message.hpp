// DNS answers as values (RFC 1035 4.1): what a lookup returned, independent of how it was
// asked. parse_response() is the pure core of common/dns: bytes of a response in, an
// Answer out, no I/O; the resolver (resolver.hpp) feeds it what c-ares received.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::dns {

enum class Type : std::uint16_t {
  a = 1,
  ns = 2,
  cname = 5,
  soa = 6,
  ptr = 12,
  mx = 15,
  txt = 16,
  aaaa = 28,
  srv = 33,
  tlsa = 52,
};
const char* type_name(Type t);
// "MX", "mx", "TLSA"… → the type; nullopt for anything else.
std::optional<Type> type_from_name(std::string_view name);

enum class Status {
  ok,        // records of the asked type
  nxdomain,  // the name does not exist (RCODE 3)
  nodata,    // the name exists but has no record of this type
  servfail,  // the resolver failed (SERVFAIL, REFUSED, a malformed answer, no server)
  timeout,   // no answer in time
};
const char* status_name(Status s);

struct Mx {
  std::uint16_t preference = 0;
  std::string host;  // lower case, no trailing dot; "" is the root (a null MX, RFC 7505)
};

struct Srv {  // RFC 2782
  std::uint16_t priority = 0, weight = 0, port = 0;
  std::string target;  // lower case, no trailing dot; "" (the root): the service is not offered
};

struct Tlsa {  // RFC 6698 2.1
  std::uint8_t usage = 0, selector = 0, matching = 0;
  std::string data;  // the certificate association data, raw bytes
};

struct Answer {
  Status status = Status::servfail;
  // Seconds the answer may be reused: the smallest TTL of the records used, or for a
  // negative answer the SOA's negative TTL (RFC 2308 5); 0 means do not cache.
  std::uint32_t ttl = 0;
  // The resolver set AD: it validated the answer with DNSSEC (RFC 4035 3.2.3). Only
  // meaningful when the resolver is trusted (a local validating resolver).
  bool authenticated = false;
  // One of these is filled, by type; addresses are text ("192.0.2.1", "2001:db8::1").
  std::vector<std::string> addresses;  // A, AAAA
  std::vector<Mx> mx;                  // sorted by preference
  std::vector<std::string> texts;      // TXT: each record's strings joined (RFC 7208 3.3)
  std::vector<std::string> names;      // PTR, NS, CNAME (lower case, no trailing dot)
  std::vector<Tlsa> tlsa;
  std::vector<Srv> srv;                // sorted by priority
  std::string error;                   // why, for servfail and timeout

  bool ok() const { return status == Status::ok; }
};

// Parses a response to the question (name, type). A response that cannot be parsed is a
// servfail answer saying why.
Answer parse_response(std::string_view bytes, std::string_view name, Type type);

// Lower case and without the trailing dot: the form names are compared and cached in.
std::string normalize_name(std::string_view name);

// The name to look up for an IP's PTR (RFC 1035 3.5, RFC 3596 2.5) or under a DNSBL zone:
// "192.0.2.1" → "1.2.0.192.in-addr.arpa"; "" when `ip` is not an address.
std::string reverse_name(std::string_view ip, std::string_view zone = {});

}  // namespace mailstead::dns

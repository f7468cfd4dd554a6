// IP addresses and CIDR ranges as the inbound lists hold them (docs/inbound.md). Pure: text
// in, values out (fuzzed: tests/fuzz/cidr_fuzz.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailstead::inbound {

// An IPv4 or IPv6 network. IPv4 is held as such (an IPv4-mapped IPv6 address, as a dual-stack
// socket reports a v4 client, is converted), so 192.0.2.0/24 matches ::ffff:192.0.2.7.
struct Cidr {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // v4: the first 4
  unsigned prefix = 0;                   // 0..32 or 0..128
  std::string text() const;              // canonical: "192.0.2.0/24", "2001:db8::/32", "192.0.2.1" for a /32
  bool contains(const Cidr& address) const;  // `address` taken as its whole prefix
};
// "192.0.2.1", "192.0.2.0/24", "2001:db8::1", "2001:db8::/32", "::ffff:192.0.2.1". Host bits
// below the prefix are cleared. nullopt for anything else (leading/trailing space included).
std::optional<Cidr> parse_cidr(std::string_view text);

}  // namespace mailstead::inbound

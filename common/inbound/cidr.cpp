// Parsing, printing and matching of IP addresses and CIDR ranges.
#include "inbound/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace mailstead::inbound {

namespace {

bool is_v4_mapped(const std::uint8_t* b) {
  static const std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b, prefix, 12) == 0;
}

void mask(Cidr& c) {
  unsigned bits = c.v6 ? 128 : 32;
  for (unsigned i = 0; i < bits / 8; ++i) {
    unsigned keep = c.prefix > i * 8 ? std::min(8u, c.prefix - i * 8) : 0;
    c.bytes[i] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
}

}  // namespace

std::optional<Cidr> parse_cidr(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string addr(text);
  std::optional<unsigned> prefix;
  if (auto slash = addr.find('/'); slash != std::string::npos) {
    std::string_view p = std::string_view(addr).substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    unsigned v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    prefix = v;
    addr.resize(slash);
  }
  Cidr c;
  std::uint8_t buf[16];
  if (addr.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, addr.c_str(), buf) != 1) return std::nullopt;
    std::memcpy(c.bytes.data(), buf, 4);
    c.prefix = prefix.value_or(32);
    if (c.prefix > 32) return std::nullopt;
  } else {
    if (inet_pton(AF_INET6, addr.c_str(), buf) != 1) return std::nullopt;
    if (prefix && *prefix > 128) return std::nullopt;
    if (is_v4_mapped(buf) && (!prefix || *prefix >= 96)) {
      std::memcpy(c.bytes.data(), buf + 12, 4);
      c.prefix = prefix ? *prefix - 96 : 32;
    } else {
      c.v6 = true;
      std::memcpy(c.bytes.data(), buf, 16);
      c.prefix = prefix.value_or(128);
      if (c.prefix > 128) return std::nullopt;
    }
  }
  mask(c);
  return c;
}

std::string Cidr::text() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  std::string out = buf;
  if (prefix != (v6 ? 128u : 32u)) out += "/" + std::to_string(prefix);
  return out;
}

bool Cidr::contains(const Cidr& a) const {
  if (a.v6 != v6 || a.prefix < prefix) return false;
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(bytes.data(), a.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto m = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes[full] & m) == (a.bytes[full] & m);
}

}  // namespace mailstead::inbound

// libFuzzer: the CIDR parser behind the inbound lists never crashes, its canonical text
// parses back to the same network, and a network contains its own address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "inbound/cidr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailstead::inbound;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  auto first = in.substr(0, nl);
  auto c = parse_cidr(first);
  if (!c) return 0;
  if (c->prefix > (c->v6 ? 128u : 32u)) std::abort();
  auto again = parse_cidr(c->text());
  if (!again || again->v6 != c->v6 || again->prefix != c->prefix || again->bytes != c->bytes) std::abort();
  if (!c->contains(*c)) std::abort();
  if (nl != std::string_view::npos) {
    // A second line: an address; containment must agree with the other direction's prefix rule.
    if (auto other = parse_cidr(in.substr(nl + 1)); other && c->contains(*other) && other->prefix < c->prefix) std::abort();
  }
  return 0;
}

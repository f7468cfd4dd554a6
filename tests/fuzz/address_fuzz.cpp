// libFuzzer: address parsing and normalisation, and RFC 5322 header/address-list parsing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "directory/address.hpp"
#include "mime/header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto p = mailstead::directory::parse_address(in)) {
    if (p->has_domain && !p->ip_literal) (void)mailstead::directory::normalize_domain(p->domain);
  }
  (void)mailstead::directory::normalize_admin_address(in, "+");
  auto end = mailstead::mime::header_end(in);
  auto header = in.substr(0, end);
  for (const auto& v : mailstead::mime::field_values(header, "From")) (void)mailstead::mime::parse_address_list(v);
  (void)mailstead::mime::parse_address_list(in);
  return 0;
}

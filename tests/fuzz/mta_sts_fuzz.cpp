// libFuzzer target for the MTA-STS policy and TXT record parsers (RFC 8461 3.1, 3.2).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/mta_sts.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace mailstead::outbound::mta_sts;
  auto r = parse_policy(in);
  if (r.policy) {
    if (r.policy->max_age > max_max_age) __builtin_trap();
    if (r.policy->mode != Mode::none && r.policy->mx.empty()) __builtin_trap();
    for (const auto& p : r.policy->mx) (void)mx_matches(p, "mx.example.net");
  } else if (r.error.empty()) {
    __builtin_trap();
  }
  (void)parse_txt({std::string(in)});
  auto cut = in.find('\n');
  if (cut != std::string_view::npos) (void)mx_matches(in.substr(0, cut), in.substr(cut + 1));
  return 0;
}

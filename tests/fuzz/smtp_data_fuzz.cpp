// libFuzzer: the DATA reader must agree with itself whole and byte by byte, never keep
// more than its limit, and stop only after CRLF.CRLF.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::uint64_t limit = 64;
  mailstead::smtp::DataReader whole(limit), bytewise(limit);
  auto used = whole.feed(in);
  std::size_t used2 = 0;
  for (std::size_t i = 0; i < in.size() && !bytewise.done(); ++i) used2 += bytewise.feed(in.substr(i, 1));
  if (used != used2 || whole.done() != bytewise.done() || whole.message() != bytewise.message() ||
      whole.too_big() != bytewise.too_big() || whole.bare_newline() != bytewise.bare_newline())
    std::abort();
  if (whole.message().size() > limit) std::abort();
  if (whole.done() && (used < 3 || in.substr(used - 3, 3) != ".\r\n")) std::abort();
  mailstead::smtp::BareNewlineScanner scan;
  scan.feed(in);
  (void)scan.found(true);
  return 0;
}

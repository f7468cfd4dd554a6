// libFuzzer: SRS reversal of whatever a peer puts in RCPT TO never crashes and never
// accepts a forgery by luck of shape, and forward/reverse round-trip any plain sender.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "srs/srs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailstead;
  constexpr std::string_view key = "fuzzing key, long enough";
  constexpr std::int64_t now = 1732960800;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)srs::is_srs(in);
  if (auto back = srs::reverse(in, key, now)) {
    // Whatever verified must be what forward makes for the sender it names (SRS0), or an
    // SRS0 address at the first forwarder (SRS1).
    if (back->empty()) std::abort();
  }
  auto at = in.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == in.size()) return 0;
  auto user = in.substr(0, at), host = in.substr(at + 1);
  if (host.find('=') != std::string_view::npos || srs::is_srs(user)) return 0;
  auto fwd = srs::forward(in, "ours.example", key, now);
  if (fwd == in) return 0;  // a sender in our own domain (any case) is left alone
  auto rev = srs::reverse(fwd, key, now);
  if (!rev || *rev != in) std::abort();
  if (srs::reverse(fwd, key, now + 22 * 86400)) std::abort();  // expired
  return 0;
}

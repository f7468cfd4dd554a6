// libFuzzer target for the IMAP poller's response core (services/deliverd/poll/
// imap_response.cpp): whatever a hostile server sends, framing stays within its limits and
// every parser returns a value or nothing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "poll/imap_response.hpp"

using namespace mailstead::poll;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string buf(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_line = 4096;
  limits.max_literal = 65536;
  for (int n = 0; n < 64; ++n) {
    Frame f;
    auto r = frame_response(buf, limits, f);
    if (r.status != FrameStatus::complete) break;
    if (f.text.size() > limits.max_line) __builtin_trap();
    buf.erase(0, r.consumed);
    (void)tokenize(f);
    (void)parse_fetch(f);
    if (auto st = parse_status(f.text)) (void)code_number(st->code, "UIDVALIDITY");
    (void)parse_search(f.text);
    (void)parse_exists(f.text);
    (void)parse_capability(f.text);
  }
  return 0;
}

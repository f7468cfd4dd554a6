// libFuzzer: ManageSieve framing (lines joined by literals) and the command parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "proto/protocol.hpp"

using namespace mailstead::managesieve;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string buf(reinterpret_cast<const char*>(data), size);
  for (int guard = 0; guard < 64 && !buf.empty(); ++guard) {
    auto f = frame(buf, 1024, 65536);
    if (f.status != Frame::Status::complete) break;
    if (f.end > buf.size()) __builtin_trap();
    auto parsed = parse(std::string_view(buf).substr(0, f.end));
    if (auto* c = std::get_if<Command>(&parsed))
      for (const auto& a : c->args) (void)string_out(a.text);
    buf.erase(0, f.end);
  }
  return 0;
}

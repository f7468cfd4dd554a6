// libFuzzer: IMAP framing and the command parser, then what the session would parse next
// from the tokens (FETCH items, SEARCH keys, sequence sets, mailbox names).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/fetch.hpp"
#include "proto/mutf7.hpp"
#include "proto/parser.hpp"
#include "proto/search.hpp"

using namespace mailstead::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string buf(reinterpret_cast<const char*>(data), size);
  std::size_t scan = 0;
  for (int guard = 0; guard < 64; ++guard) {
    auto f = frame(buf, scan, 1024);
    if (f.status == Framing::Status::need_literal) {
      if (f.literal > buf.size() || buf.size() - f.literal < f.literal_at) break;
      scan = f.literal_at + f.literal;
      continue;
    }
    if (f.status != Framing::Status::complete) break;
    auto parsed = parse_command(std::string_view(buf).substr(0, f.end));
    if (auto* c = std::get_if<Command>(&parsed)) {
      for (const auto& a : c->args) {
        (void)parse_fetch_items(a);
        (void)parse_sequence_set(a.text);
        if (auto u = mutf7_to_utf8(a.text)) {
          if (mutf7_to_utf8(utf8_to_mutf7(*u)) != *u) std::abort();
        }
      }
      (void)parse_search(c->args, 0);
    }
    buf.erase(0, f.end);
    scan = 0;
  }
  return 0;
}

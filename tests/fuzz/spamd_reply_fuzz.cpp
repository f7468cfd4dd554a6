// libFuzzer: the spamd reply parser never crashes, never reads past its input, and gives
// the same answer whole as when the reply arrives in two reads (the first not at EOF).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "spam/protocol.hpp"
#include "spam/verdict.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mailstead::spam;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto whole = parse_reply(in, true);
  if (std::holds_alternative<NeedMore>(whole)) std::abort();  // at EOF there is no "more"
  if (auto* r = std::get_if<Reply>(&whole)) {
    if (r->content_length && r->body.size() != *r->content_length) std::abort();
    (void)symbols_of(r->body);
  }
  // A prefix not at EOF: a reply, more wanted, or an error, never a different reply.
  auto part = parse_reply(in.substr(0, size / 2), false);
  if (auto* r = std::get_if<Reply>(&part); r && std::holds_alternative<Reply>(whole)) {
    if (r->body != std::get<Reply>(whole).body && size / 2 != size) {
      // A Content-length reply complete in the first half cannot grow in the whole.
      if (r->content_length) std::abort();
    }
  }
  // The header scrubber on the same bytes as a message.
  if (auto s = strip_spam_fields(in)) {
    if (s->size() > size) std::abort();
  }
  return 0;
}

// libFuzzer: a message's way through smtpd before delivery, at the real limits or at small
// ones (the first byte chooses). The DATA reader agrees with itself fed whole and in
// chunks drained as the session drains it, hands over no more than its limit, and stops
// only after CRLF.CRLF; the message scanner (bare line ends, NUL, header line and header
// size) agrees with itself on any chunking and with the reader on bare line ends; the
// submitted originator fields of the result are read without crashing, and every address
// they name has an '@'.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/header.hpp"
#include "proto/input.hpp"
#include "proto/sender_fields.hpp"

using namespace mailstead::smtp;

namespace {

struct Scanned {
  bool bare, nul, line, header;
  bool operator==(const Scanned&) const = default;
};

Scanned scanned(const MessageScanner& s) {
  return {s.bare_newline(), s.nul(), s.header_line_too_long(), s.header_too_big()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  bool small = data[0] & 1;
  std::size_t step = 1 + (data[0] >> 1) % 97;  // chunk size of the second pass
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  // smtpd's defaults: max_message_size, max_header_line_length, max_header_size.
  const std::uint64_t limit = small ? 64 : 50ull << 20;
  const HeaderLimits header = small ? HeaderLimits{20, 60} : HeaderLimits{8192, 256 * 1024};

  DataReader whole(limit);
  auto used = whole.feed(in);
  std::string message = whole.drain();
  if (message.size() > limit) std::abort();
  if (whole.done() && (used < 3 || in.substr(used - 3, 3) != ".\r\n")) std::abort();

  DataReader chunked(limit);
  MessageScanner scan_chunks(header);
  std::string pieces;
  std::size_t used2 = 0;
  for (std::size_t i = 0; i < in.size() && !chunked.done(); i += step) {
    used2 += chunked.feed(in.substr(i, step));
    auto piece = chunked.drain();
    if (!chunked.too_big()) {
      scan_chunks.feed(piece);
      pieces += piece;
    }
  }
  if (used != used2 || whole.done() != chunked.done() || whole.too_big() != chunked.too_big() ||
      whole.bare_newline() != chunked.bare_newline())
    std::abort();
  if (whole.too_big()) return 0;
  if (message != pieces) std::abort();

  MessageScanner scan_whole(header), scan_bytes(header);
  scan_whole.feed(message);
  for (char c : message) scan_bytes.feed(std::string_view(&c, 1));
  scan_whole.finish();
  scan_bytes.finish();
  scan_chunks.finish();
  if (!(scanned(scan_whole) == scanned(scan_bytes)) || !(scanned(scan_whole) == scanned(scan_chunks))) std::abort();
  if (whole.done() && scan_whole.bare_newline() != whole.bare_newline()) std::abort();

  auto fields = examine_sender_fields(std::string_view(message).substr(0, mailstead::mime::header_end(message)));
  for (const auto& a : fields.addresses)
    if (a.address.find('@') == std::string::npos) std::abort();
  if (!fields.error.empty() && (fields.add_from || !fields.addresses.empty())) std::abort();
  return 0;
}

// libFuzzer: SMTP line framing at the real line limit and the command parser never crash,
// and a HELO/EHLO name that parses can never change the meaning of the Received field it
// goes into (no control characters, spaces, comments, angle brackets, ';' or ',').
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/command.hpp"
#include "proto/input.hpp"

namespace {

void check_helo(std::string_view d) {
  if (d.empty() || d.size() > 255) std::abort();
  bool literal = d.front() == '[';
  for (std::size_t i = 0; i < d.size(); ++i) {
    auto c = static_cast<unsigned char>(d[i]);
    if (c < 0x21 || c == 0x7f) std::abort();
    if (std::string_view("()<>;,\"\\").find(static_cast<char>(c)) != std::string_view::npos) std::abort();
    bool bracket = c == '[' || c == ']';
    if (bracket && !(literal && (i == 0 || i + 1 == d.size()))) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t max_line = 2048;  // smtpd's max_line_length default
  // Frame lines as the session does, and parse each.
  while (!in.empty()) {
    auto r = mailstead::smtp::next_line(in, max_line);
    if (r.status == mailstead::smtp::LineStatus::need_more) {
      mailstead::smtp::parse_command(in);
      break;
    }
    if (r.status == mailstead::smtp::LineStatus::line) {
      if (r.line.size() > max_line) std::abort();
      auto parsed = mailstead::smtp::parse_command(r.line);
      if (auto* c = std::get_if<mailstead::smtp::Command>(&parsed)) {
        (void)mailstead::smtp::command_name(*c);
        if (auto* h = std::get_if<mailstead::smtp::Helo>(c)) check_helo(h->domain);
      }
    }
    if (r.consumed == 0) std::abort();
    in.remove_prefix(r.consumed);
  }
  return 0;
}

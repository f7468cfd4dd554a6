// libFuzzer: the SMTP command parser and line framing on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/command.hpp"
#include "proto/input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Frame lines as the session does, and parse each.
  while (!in.empty()) {
    auto r = mailstead::smtp::next_line(in, 512);
    if (r.status == mailstead::smtp::LineStatus::need_more) {
      mailstead::smtp::parse_command(in);
      break;
    }
    if (r.status == mailstead::smtp::LineStatus::line) {
      auto parsed = mailstead::smtp::parse_command(r.line);
      if (auto* c = std::get_if<mailstead::smtp::Command>(&parsed)) (void)mailstead::smtp::command_name(*c);
    }
    in.remove_prefix(r.consumed);
  }
  return 0;
}

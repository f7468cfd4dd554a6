// libFuzzer: ManageSieve framing (lines joined by literals) and the command parser, at
// sieved's real limits: command lines of max_line_length, literals of a whole script; the
// scripts PUTSCRIPT and CHECKSCRIPT carry go through the Sieve parser as sieved checks them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/core_settings.hpp"
#include "proto/protocol.hpp"
#include "../../services/sieved/settings.hpp"  // (smtpd has a settings.hpp too)
#include "sieve/sieve.hpp"

using namespace mailstead::managesieve;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::size_t max_line = Settings{}.max_line_length;
  static const std::uint64_t max_literal = mailstead::config::CoreSettings{}.sieve.max_script_size + 1024;
  std::string buf(reinterpret_cast<const char*>(data), size);
  for (int guard = 0; guard < 64 && !buf.empty(); ++guard) {
    auto f = frame(buf, max_line, max_literal);
    if (f.status != Frame::Status::complete) break;
    if (f.end > buf.size()) __builtin_trap();
    auto parsed = parse(std::string_view(buf).substr(0, f.end));
    if (auto* c = std::get_if<Command>(&parsed)) {
      for (const auto& a : c->args) (void)string_out(a.text);
      // PUTSCRIPT and CHECKSCRIPT validate the script (its :regex keys compiled within bounds).
      if ((c->name == "PUTSCRIPT" || c->name == "CHECKSCRIPT") && !c->args.empty()) {
        auto checked = mailstead::sieve::parse(c->args.back().text);
        if (!checked.script && checked.error.rfind("line ", 0) != 0) __builtin_trap();
      }
    }
    buf.erase(0, f.end);
  }
  return 0;
}

// libFuzzer: the Sieve parser on any bytes; a script that parses is also run, with small
// limits, against a fixed message (so the interpreter sees every tree the parser accepts).
#include <cstddef>
#include <cstdint>
#include <string>

#include "sieve/ast.hpp"
#include "sieve/sieve.hpp"

using namespace mailstead::sieve;

namespace {
class Env : public Environment {
 public:
  bool mailbox_exists(std::string_view n) override { return n == "INBOX"; }
  std::optional<std::string> script(std::string_view n, bool) override {
    if (n == "inc") return std::string("require [\"fileinto\",\"include\"]; fileinto \"x\"; return;");
    return std::nullopt;
  }
  bool seen(std::string_view) override { return false; }
  std::int64_t now() override { return 1782900000; }
};
const char* kMessage =
    "From: Bob <bob@remote.example>\r\nTo: alice+x@example.test\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\n"
    "Date: Tue, 30 Jun 2026 23:30:00 -0200\r\nMessage-ID: <a@b>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain\r\n\r\nbody text\r\n--b--\r\n";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Limits limits;
  limits.max_steps = 2000;
  limits.max_script_size = 8192;
  auto parsed = parse(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!parsed.script) {
    if (parsed.error.rfind("line ", 0) != 0) __builtin_trap();  // every error names its line
    return 0;
  }
  Env env;
  auto out = run(*parsed.script, kMessage, Envelope{"bob@remote.example", "alice+x@example.test", ""}, env, {}, limits);
  if (!out.error.empty() && (out.actions.size() != 1 || out.actions[0].kind != Action::Kind::keep)) __builtin_trap();
  return 0;
}

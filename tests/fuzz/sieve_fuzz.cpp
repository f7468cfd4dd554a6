// libFuzzer: the Sieve parser on any bytes; a script that parses is also run, with small
// limits, against a fixed message (so the interpreter sees every tree the parser accepts)
// and against one with 64 KiB header fields under a CPU-time bound. The input is also
// compiled as a :regex key and matched against those fields: whatever the pattern, a
// compile and a match stay within a time bound (RE2 is linear; the bombs glibc's regcomp
// took gigabytes and minutes on are refused).
#include <time.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "sieve/ast.hpp"
#include "sieve/regex.hpp"
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

// 64 KiB of text that keeps a DFA busy: letters from a small alphabet, digits, UTF-8.
std::string noise(std::size_t n, unsigned seed) {
  static const char* parts[] = {"a", "b", "ab", "aab", "x", "0", "9", " ", "\xc3\xa9", "-", "."};
  std::string s;
  for (unsigned i = 0; s.size() < n; ++i) s += parts[(i * 7919u + seed) % (sizeof parts / sizeof *parts)];
  s.resize(n);
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0xC0) s.pop_back();  // no cut character
  return s;
}

const std::string& long_subject() {
  static const std::string s = noise(64 * 1024, 1);
  return s;
}

const std::string& long_message() {
  static const std::string m = [] {
    std::string folded;
    const auto& s = long_subject();
    for (std::size_t i = 0; i < s.size(); i += 900) folded += (i ? "\r\n " : "") + s.substr(i, 900);
    std::string h = "From: Bob <bob@remote.example>\r\nTo: alice+x@example.test\r\nSubject: " + folded + "\r\n";
    h += "X-Long: " + std::string(60 * 1024, 'a') + "b\r\n";
    for (int i = 0; i < 200; ++i) h += "X-Many: " + noise(40, static_cast<unsigned>(i)) + "\r\n";
    return h + "\r\n" + noise(64 * 1024, 7) + "\r\n";
  }();
  return m;
}

std::chrono::nanoseconds cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// A compile or a whole run past this is a hang the bounds should have prevented. Generous:
// ASan slows the interpreter, and one RE2 match of 64 KiB against the largest program
// max_regex_memory allows is itself bounded but not instant.
constexpr auto kTimeBound = std::chrono::seconds(3);

void within_bound(std::chrono::nanoseconds start) {
  if (cpu_now() - start > kTimeBound) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_steps = 2000;
  limits.max_script_size = 8192;
  limits.max_regex_memory = 64 * 1024;
  limits.regex_cache_size = 4 << 20;

  // The input as one :regex key, against the long fields, with and without groups.
  {
    auto start = cpu_now();
    auto re = cached_regex(input.substr(0, 512), size % 2 == 0, limits);
    within_bound(start);
    if (!re->ok() && re->error().rfind("invalid regular expression \"", 0) != 0) __builtin_trap();
    if (re->ok()) {
      std::vector<std::string> groups;
      if (re->search(long_subject(), &groups) && groups.size() != 10) __builtin_trap();
      (void)re->search(long_message(), nullptr);
      within_bound(start);
    }
  }

  auto parsed = parse(input, limits);
  if (!parsed.script) {
    if (parsed.error.rfind("line ", 0) != 0) __builtin_trap();  // every error names its line
    return 0;
  }
  Env env;
  auto out = run(*parsed.script, kMessage, Envelope{"bob@remote.example", "alice+x@example.test", ""}, env, {}, limits);
  if (!out.error.empty() && (out.actions.size() != 1 || out.actions[0].kind != Action::Kind::keep)) __builtin_trap();

  // The same script on long header fields: stopped by max_cpu_time if it must be.
  limits.max_cpu_time = std::chrono::milliseconds(200);
  auto start = cpu_now();
  out = run(*parsed.script, long_message(), Envelope{"bob@remote.example", "alice+x@example.test", ""}, env, {}, limits);
  within_bound(start);
  if (!out.error.empty() && (out.actions.size() != 1 || out.actions[0].kind != Action::Kind::keep)) __builtin_trap();
  return 0;
}

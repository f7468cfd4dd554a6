// Sieve (RFC 5228 and the extensions in extensions()): a parser that reports the first error
// as "line N: what was expected", and an interpreter that runs a parsed script against one
// message and envelope and returns what to do with it. No I/O here: the store, the outbound
// queue and other scripts are reached through Environment, so smtpd, sieved and the tests
// share one engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::sieve {

struct Limits {
  std::size_t max_script_size = 256 * 1024;  // bytes
  std::uint32_t max_redirects = 4;           // redirect actions per message
  std::uint32_t max_steps = 100'000;         // commands and tests evaluated per message
  std::uint32_t max_include_depth = 5;       // nested include
  std::uint32_t max_actions = 64;            // actions one run may produce
  std::uint32_t max_nesting = 64;            // blocks and test lists inside each other
  // CPU time one run (one message, one recipient) may use; then it stops with an error and
  // the message is kept. 0: unlimited.
  std::chrono::milliseconds max_cpu_time{5000};
  std::size_t max_variable_size = 64 * 1024;  // bytes a variable or an expanded string holds
  std::size_t max_regex_length = 4096;        // bytes of one :regex key
  std::int64_t max_regex_memory = 256 * 1024; // what one compiled :regex key may use (RE2 max_mem)
  std::size_t regex_cache_size = 32 << 20;    // compiled keys kept per process, each counted at its bound
  std::size_t script_cache_size = 64 << 20;   // parsed scripts kept per process (smtpd), 24 × their text each
};

// The extensions this engine implements completely, as ManageSieve lists them.
const std::vector<std::string>& extensions();
std::string extensions_text();  // space separated

struct Script;  // the parsed tree (ast.hpp)

struct Parsed {
  std::shared_ptr<const Script> script;  // null when error is set
  std::string error;                      // "line N: ..."
  std::vector<std::string> warnings;      // "line N: ..."
};
Parsed parse(std::string_view text, const Limits& limits = {});

struct Envelope {
  std::string from;       // the reverse path, "" for <>
  std::string to;         // the recipient address this run is for
  std::string auth;       // the authenticated submitter, if any
};

struct Vacation {
  std::string reason, subject, from, handle;
  std::vector<std::string> addresses;
  bool mime = false;
  std::int64_t period = 7 * 86400;  // seconds between replies to one sender
  std::string recipient;            // the original sender the reply goes to
};

struct Notify {
  std::string method;  // "mailto:..."
  std::string from, importance, message;
  std::vector<std::string> options;
};

struct Action {
  enum class Kind { keep, fileinto, redirect, reject, ereject, vacation, notify };
  Kind kind = Kind::keep;
  std::string mailbox;             // fileinto (UTF-8, "/" delimited)
  bool create = false;             // fileinto :create
  std::vector<std::string> flags;  // keep, fileinto (imap4flags)
  std::string address;             // redirect
  std::string text;                // reject, ereject
  Vacation vacation;
  Notify notify;
  bool implicit = false;           // keep: the implicit keep (no action cancelled it)
};

struct Outcome {
  // What to do, implicit keep included (as a keep). Empty: discard.
  std::vector<Action> actions;
  // editheader changed the header: the whole new header block (fields, then CRLF).
  std::optional<std::string> header;
  // duplicate IDs to remember once the delivery is durable, with their periods.
  std::vector<std::pair<std::string, std::int64_t>> duplicates;
  // A run-time error: the caller files the message into INBOX (keep) and logs this.
  std::string error;
};

// What the engine asks of the world while running.
class Environment {
 public:
  virtual ~Environment() = default;
  virtual bool mailbox_exists(std::string_view name) = 0;
  // The text of another script of this user (personal) or of the site (global), for include.
  virtual std::optional<std::string> script(std::string_view name, bool global) = 0;
  // duplicate: whether this ID was recorded and has not expired.
  virtual bool seen(std::string_view id) = 0;
  virtual std::int64_t now() = 0;
};

// The spam filter's verdict, for spamtest/spamtestplus (RFC 5235; docs/sieve.md).
struct SpamScore {
  bool tested = false;
  double score = 0;
  double junk = 5.0;     // [spam] junk_threshold
  double reject = 15.0;  // [spam] reject_threshold
};
// spamtest's value: 0 not tested; 1..4 below junk, 5..9 from junk to reject, 10 at reject.
int spamtest_value(const SpamScore& s);
// spamtestplus :percent: 0..49 below junk, 50..99 from junk to reject, 100 at reject (0
// when not tested).
int spamtest_percent(const SpamScore& s);

struct RunOptions {
  char subaddress_separator = '+';
  std::vector<std::string> user_addresses;  // vacation: mail to these is "to me"
  SpamScore spam;
  // environment (RFC 5183) items by name ("domain", "host", "remote-ip", ...); an item
  // not here is unknown and the test fails.
  std::map<std::string, std::string> environment;
};

// The address of a "mailto:" URI (RFC 6068), without its "?headers" part.
std::string_view mailto_address(std::string_view uri);

Outcome run(const Script& script, std::string_view message, const Envelope& envelope, Environment& env,
            const RunOptions& options = {}, const Limits& limits = {});

}  // namespace mailstead::sieve

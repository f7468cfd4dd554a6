// What a spam scan concluded for one message and the header fields that say so
// (docs/spam.md): X-Spam-Flag, X-Spam-Score and X-Spam-Status, added by this server after
// every X-Spam-* field the sender wrote has been removed (a sender cannot forge a verdict).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::spam {

struct Thresholds {
  double junk = 5.0;     // at or above: the recipient's Junk mailbox
  double reject = 15.0;  // at or above: 550 5.7.1 at the end of DATA
};

struct Verdict {
  bool scanned = false;
  std::string not_scanned;  // why not: "spamd unreachable", "timeout", "too large", ...
  double score = 0;
  std::vector<std::string> symbols;  // the rules that hit (SYMBOLS)

  bool junk(const Thresholds& t) const { return scanned && score >= t.junk; }
  bool reject(const Thresholds& t) const { return scanned && score >= t.reject; }
};

// The three fields (each ending in CRLF), long lists folded; not_scanned gives only
// "X-Spam-Status: No, not scanned (<why>)".
std::string header_fields(const Verdict& v, const Thresholds& t);

// The message without any X-Spam-* field of its header (each with its continuation
// lines); nullopt when it has none (the message is used as it is).
std::optional<std::string> strip_spam_fields(std::string_view message);

}  // namespace mailstead::spam

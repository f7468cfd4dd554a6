// SpamAssassin's spamd protocol (SPAMC/1.5, as spamc speaks it; the format is described in
// SpamAssassin's spamd/PROTOCOL): requests built, replies parsed strictly. Pure: no
// sockets, clocks or logging here, so the parser is unit-tested and fuzzed (spamd_reply_fuzz).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mailstead::spam {

enum class Verb { check, symbols, report, tell, ping };

struct Request {
  Verb verb = Verb::symbols;
  std::string user;           // "User:" (per-user preferences and Bayes); empty: none
  std::string message_class;  // TELL: "spam" or "ham"
  bool set_local = true;      // TELL: "Set: local" (learn); else "Remove: local" (forget)
};

// The request's bytes: the request line, its headers, the blank line, then the message.
std::string build_request(const Request& r, std::string_view message);

struct Reply {
  int major = 1, minor = 0;  // SPAMD/<major>.<minor>
  int code = 0;              // 0 EX_OK; spamd's sysexits-style codes otherwise
  std::string message;       // "EX_OK", ...
  // "Spam: True ; 15.3 / 5.0"
  std::optional<bool> spam;
  double score = 0, threshold = 0;
  std::vector<std::string> did_set, did_remove;  // TELL: "DidSet: local"
  std::optional<std::size_t> content_length;
  std::string body;  // SYMBOLS: comma-separated rule names; REPORT: the report
};

struct NeedMore {};
struct ReplyError {
  std::string why;
};
using ReplyResult = std::variant<Reply, NeedMore, ReplyError>;

// Limits on what a spamd reply may hold; beyond them it is an error, not a larger buffer.
inline constexpr std::size_t max_reply_header = 8192;
inline constexpr std::size_t max_reply_body = 256 * 1024;

// Parses the reply in `in`. spamd closes the connection after its reply: `eof` says the
// peer has, so a reply without Content-length ends there. NeedMore: read more first.
ReplyResult parse_reply(std::string_view in, bool eof);

// The rule names of a SYMBOLS body ("GTUBE,NO_RECEIVED,..."), each checked to be a
// SpamAssassin rule name (letters, digits, '_'); others are dropped.
std::vector<std::string> symbols_of(std::string_view body);

}  // namespace mailstead::spam

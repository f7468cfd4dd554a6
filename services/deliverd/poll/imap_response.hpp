// The client side of IMAP4rev1 responses (RFC 3501 7, 9 "response"), I/O-free: framing of
// one response with its {n} literals under limits a hostile server cannot stretch, tokens,
// status responses with their codes (7.1), SEARCH (7.2.5), EXISTS (7.3.1), FETCH (7.4.2).
// Bytes in, values out; no sockets, clocks or logs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::poll {

struct Limits {
  std::size_t max_line = 1u << 20;          // the text of one response, literals left out
  std::uint64_t max_literal = 25u << 20;    // all literals of one response together
};

// One response: its text with each literal's bytes taken out (the "{n}" stays where it was,
// and the text goes on right after the literal's bytes), and the literals in order.
struct Frame {
  std::string text;
  std::vector<std::string> literals;
};

enum class FrameStatus { complete, need_more, error };
struct FrameResult {
  FrameStatus status = FrameStatus::need_more;
  std::size_t consumed = 0;  // complete: bytes of `buffered` the frame took
  std::string error;         // error: what the server did wrong
};
// Frames the first response in `buffered`. need_more: read more and call again with the
// whole buffer.
FrameResult frame_response(std::string_view buffered, const Limits& limits, Frame& out);

struct Token {
  enum Kind { atom, string, open, close } kind = atom;
  std::string text;  // atom or string contents (NIL is the atom "NIL")
};
// Tokens of `f.text`, each literal marker standing for its literal. nullopt when malformed
// (an unterminated quoted string, a literal marker without its literal).
std::optional<std::vector<Token>> tokenize(const Frame& f);

// "tag OK [CODE args] text", "* NO …", "* BYE …", "* PREAUTH …".
struct Status {
  std::string tag;   // "*" for untagged
  std::string kind;  // "OK", "NO", "BAD", "BYE", "PREAUTH" (upper case)
  std::string code;  // the response code's text without brackets ("UIDVALIDITY 3857529045"), or ""
  std::string text;
};
std::optional<Status> parse_status(std::string_view text);

// "* 3 EXISTS" → 3.
std::optional<std::uint32_t> parse_exists(std::string_view text);
// "* SEARCH 2 84 882" → {2, 84, 882}; nullopt when it is not a SEARCH response or malformed.
std::optional<std::vector<std::uint32_t>> parse_search(std::string_view text);
// "* CAPABILITY IMAP4rev1 IDLE …" or an OK's [CAPABILITY …] code → the names, upper case.
std::optional<std::vector<std::string>> parse_capability(std::string_view text);
// The number after a response code's name: "UIDVALIDITY 3857529045" with name UIDVALIDITY.
std::optional<std::uint32_t> code_number(std::string_view code, std::string_view name);

struct FetchData {
  std::uint32_t seq = 0;
  std::optional<std::uint32_t> uid;
  std::optional<std::uint64_t> size;  // RFC822.SIZE
  std::optional<std::string> body;    // BODY[] (NIL → nullopt)
  std::vector<std::string> flags;
};
// "* 12 FETCH (UID 40 RFC822.SIZE 4312 BODY[] {4312}…)". nullopt when not a FETCH response or
// malformed.
std::optional<FetchData> parse_fetch(const Frame& f);

// A string as an IMAP quoted string (RFC 3501 9 "quoted"): only for text without CR, LF or
// NUL (the caller checks); '"' and '\' escaped.
std::string quote(std::string_view s);

}  // namespace mailstead::poll

// The IMAP command parser (RFC 3501 9, RFC 9051 9), without I/O: framing of a command
// that may carry {n} and {n+} literals (RFC 7888), tokens (atoms, quoted strings,
// literals, parenthesised lists, and atoms with a [section]<partial> such as
// BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>), and sequence sets with * and $.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mailstead::imap {

// Where a command's text ends, as bytes arrive.
struct Framing {
  enum class Status { need_more, need_literal, complete, too_long } status = Status::need_more;
  std::size_t end = 0;          // complete: bytes of the command including the final CRLF
  std::uint64_t literal = 0;    // need_literal: its size
  bool synchronizing = false;   // need_literal: {n} (the client waits for "+") or {n+}
  std::size_t literal_at = 0;   // need_literal: where its bytes start in the buffer
};

// Scans `buf` from `from` (the start of the current line). A line longer than
// `max_line` is too_long. A literal announced at the end of a line is reported once; the
// caller continues scanning from literal_at + literal.
Framing frame(std::string_view buf, std::size_t from, std::size_t max_line);

struct Token {
  enum class Kind { atom, string, list } kind = Kind::atom;
  std::string text;           // atom or string bytes
  std::vector<Token> items;   // list
  bool literal = false;       // a string sent as {n} or ~{n} (not quoted)
  bool literal8 = false;      // a string sent as ~{n} (RFC 3516): may hold NUL bytes
  bool is_nil() const;
  bool is_atom(std::string_view upper_name) const;  // case-insensitive
};

struct Command {
  std::string tag;
  std::string name;  // upper case; "UID FETCH" etc. for UID commands
  std::vector<Token> args;
};

struct ParseError {
  std::string tag;  // "*" when the tag itself is bad
  std::string text;
};

using ParseResult = std::variant<Command, ParseError>;

struct ParseLimits {
  std::size_t max_depth = 32;      // nested lists
  std::size_t max_tokens = 100000;
};

// Parses one whole command (as framed, with its literals inline and the final CRLF).
ParseResult parse_command(std::string_view text, ParseLimits limits = {});

// Sequence sets (RFC 9051 9 sequence-set): ranges of numbers, * (the largest), or $ alone
// (SEARCHRES, RFC 5182: the messages the last SEARCH RETURN (SAVE) found, which the session
// keeps; `contains` knows nothing of them).
struct SequenceSet {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;  // 0 stands for *
  bool saved = false;  // "$"
  // Whether n is in the set, with `star` the value of *.
  bool contains(std::uint32_t n, std::uint32_t star) const;
};
std::optional<SequenceSet> parse_sequence_set(std::string_view s);

// Mailbox names: "INBOX" in any case is INBOX; otherwise as given ("/" separates levels).
std::string normalize_mailbox(std::string_view name);

// Why a name (UTF-8, normalized) may not be given to a new mailbox (CREATE, RENAME's
// target), or "" when it may: control characters (also when they came modified-UTF-7
// encoded, "x&AAA-y"), a leading "#" or "~" (other namespaces' prefixes, RFC 2342 and
// RFC 3501 5.1), an empty, "." or ".." level. Existing mailboxes keep their names.
std::string new_mailbox_name_problem(std::string_view name);

}  // namespace mailstead::imap

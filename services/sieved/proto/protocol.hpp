// The ManageSieve wire format (RFC 5804 4): framing a command with its literals, parsing it
// into a name and string/number arguments, and writing strings back. Pure, unit-tested and
// fuzzed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mailstead::managesieve {

struct Frame {
  enum class Status { need_more, complete, too_long, too_big } status = Status::need_more;
  std::size_t end = 0;         // complete: bytes of the command, CRLF included
  std::uint64_t literal = 0;   // too_big: the literal's announced size
};
// Finds one whole command at the start of `in`: lines joined by {n}/{n+} literals.
Frame frame(std::string_view in, std::size_t max_line, std::uint64_t max_literal);

struct Argument {
  enum class Kind { string, number, atom } kind = Kind::string;
  std::string text;
};
struct Command {
  std::string name;  // upper case
  std::vector<Argument> args;
};
// A framed command (CRLF included) → the command, or the text of a NO reply.
std::variant<Command, std::string> parse(std::string_view framed);

// A quoted string when it can be one (short, no CR/LF/NUL), else a {n} literal.
std::string string_out(std::string_view s);
std::string quoted(std::string_view s);

}  // namespace mailstead::managesieve

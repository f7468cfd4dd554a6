// SMTP commands as values: what the pure parser produces from one command line
// (RFC 5321 4.1, with the parameters of RFC 1870 SIZE, 6152 8BITMIME, 6531 SMTPUTF8,
// 3461 DSN, 3030 CHUNKING, 4954 AUTH). No I/O here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace mailstead::smtp {

struct Helo {
  std::string domain;
  bool extended = false;  // EHLO
};

enum class Body { seven_bit, eight_bit_mime, binary_mime };

struct Mail {
  std::string path;  // between < and >; "" for the null sender
  std::optional<std::uint64_t> size;
  Body body = Body::seven_bit;
  bool smtputf8 = false;
  std::string ret;    // DSN RET=FULL|HDRS
  std::string envid;  // DSN ENVID (kept as sent)
  std::string auth;   // AUTH=<mailbox> (RFC 4954 5), informational
};

struct Rcpt {
  std::string path;
  std::string notify;  // DSN NOTIFY=…
  std::string orcpt;   // DSN ORCPT=…
};

struct Data {};
struct Bdat {
  std::uint64_t size = 0;
  bool last = false;
};
struct Rset {};
struct Noop {};
struct Quit {};
struct Vrfy {
  std::string arg;
};
struct Expn {
  std::string arg;
};
struct Help {};
struct StartTls {};
struct Auth {
  std::string mechanism;  // upper case
  std::optional<std::string> initial;  // base64 as sent ("=" is an empty response)
};

using Command = std::variant<Helo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, StartTls, Auth>;

struct SyntaxError {
  int code = 500;
  std::string enhanced = "5.5.2";
  std::string text;
};

using ParseResult = std::variant<Command, SyntaxError>;

// Parses one command line, without its CRLF.
ParseResult parse_command(std::string_view line);

// The verb of a command, for logs and the command table.
const char* command_name(const Command& c);

}  // namespace mailstead::smtp

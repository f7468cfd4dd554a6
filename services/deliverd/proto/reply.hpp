// The client side of SMTP's pure core (RFC 5321 4.2): multi-line replies read from a
// buffer, and the EHLO keywords a server offers (PIPELINING RFC 2920, SIZE RFC 1870,
// 8BITMIME RFC 6152, SMTPUTF8 RFC 6531, STARTTLS RFC 3207, AUTH RFC 4954). No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::outbound {

struct Reply {
  int code = 0;                    // 0: no reply (connection failed before one came)
  std::vector<std::string> lines;  // text of each line, without the code and separator

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  // "550 5.1.1 <x@y>: Recipient address rejected" (lines joined by spaces).
  std::string text() const;
};

enum class ParseStatus { complete, need_more, malformed };

// Takes one complete reply from the front of `buf`; `consumed` is how many bytes it used.
// A line longer than `max_line` or a reply of more than 100 lines is malformed.
ParseStatus parse_reply(std::string_view buf, Reply& out, std::size_t& consumed, std::size_t max_line = 4096);

struct Capabilities {
  bool esmtp = false;
  bool pipelining = false, starttls = false, eightbitmime = false, smtputf8 = false, chunking = false;
  bool enhanced_codes = false, dsn = false;
  std::uint64_t size = 0;  // 0: no limit announced
  std::vector<std::string> auth;  // mechanisms, upper case
};
Capabilities parse_ehlo(const Reply& ehlo);

// Does the message need SMTPUTF8 (a non-ASCII envelope address or header, RFC 6531 3.4)?
// Does it need 8BITMIME (any byte over 127 in the body)?
bool needs_smtputf8(std::string_view sender, const std::vector<std::string>& recipients, std::string_view message);
bool has_8bit(std::string_view message);

// Dot-stuffing for DATA (RFC 5321 4.5.2) and the final ".": the message must end with CRLF.
std::string dot_stuff(std::string_view message);

}  // namespace mailstead::outbound

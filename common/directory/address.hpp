// Mail addresses as routing sees them (RFC 5321 4.1.2, RFC 6531): parsing of the path
// forms peers send, and the normalisation that makes two spellings of one address equal:
// domain lower case in A-labels (IDNA2008 via libidn2), local part ASCII-case-insensitive,
// quotes removed where they change nothing, `+tag` split at the configured delimiter.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace mailstead::directory {

struct ParsedAddress {
  std::string local;         // unquoted and unescaped, case as written
  std::string domain;        // as written (no brackets for IP literals: see ip_literal)
  std::string source_route;  // "@a,@b" before ':' (RFC 5321 4.1.2, obsolete)
  bool quoted = false;       // the local part was a quoted string
  bool has_domain = false;
  bool ip_literal = false;   // domain was [a.b.c.d] or [IPv6:…]
  bool trailing_dot = false; // "user@example.test."
};

// Parses "local@domain", "\"quoted\"@domain", "@route:local@domain" or a bare local part.
// Returns nullopt on a syntax error.
std::optional<ParsedAddress> parse_address(std::string_view s);

// Lower case, A-labels, length and label checks. Errors name the problem.
Result<std::string> normalize_domain(std::string_view domain);
// ASCII lower case; other bytes (UTF-8 local parts) are kept as they are.
std::string lowercase_ascii(std::string_view s);
// True when `local` can stand unquoted (RFC 5322 dot-atom, UTF-8 allowed per RFC 6531).
bool is_dot_atom(std::string_view local);

struct NormalAddress {
  std::string local;   // lower case, without the tag
  std::string tag;     // after the delimiter, case kept ("" when none)
  std::string domain;  // A-labels, lower case
  std::string address() const { return local + "@" + domain; }
};

// Parses and normalises an address an administrator types (a user, alias, group):
// it must be a plain dot-atom local part and a domain, with no tag.
Result<NormalAddress> normalize_admin_address(std::string_view s, std::string_view delimiter);

// Splits "base<delim>tag" at the first delimiter ("" delimiter: no split).
void split_tag(std::string_view local, std::string_view delimiter, std::string& base, std::string& tag);

}  // namespace mailstead::directory

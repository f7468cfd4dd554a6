// Stream email addresses (docs/streams.md): the gateway pattern with one `%s`
// ("%s@streams.example.org", or "user+%s@example.com" for a polled mailbox), and the part it
// stands for, `<slug>.<token>[.<option>…]` ('+' separates too). Pure: no store, no clock.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mailstead::streams {

struct GatewayPattern {
  std::string prefix;  // before %s (lower case)
  std::string suffix;  // after %s, "@domain" included (lower case)
  std::string domain;  // the gateway domain
};
// nullopt unless the pattern holds exactly one %s, in the local part, and a domain.
std::optional<GatewayPattern> parse_pattern(std::string_view pattern);

// The %s part of `address` when it is in the gateway (domain compared case-insensitively).
std::optional<std::string> gateway_part(const GatewayPattern& p, std::string_view address);

struct Options {
  bool show_sender = false;     // prefix the message with "From: <sender>"
  bool include_footer = false;  // keep what follows a "-- " line
  bool include_quotes = false;  // keep quoted earlier messages
  bool prefer_html = false;     // the HTML part even when there is a text one
  bool prefer_text = false;     // the text part even when prefer_html (the default anyway)
  bool operator==(const Options&) const = default;
};

struct StreamAddress {
  std::string slug;   // lower case
  std::string token;  // lower case
  Options options;
};
struct AddressError {
  std::string text;
};
// "<slug>.<token>[.<option>…]" with '.' or '+' between parts. A missing token or an
// unknown option is an error.
std::variant<StreamAddress, AddressError> parse_stream_part(std::string_view part);

// The address of a stream with these options.
std::string format_address(const GatewayPattern& p, std::string_view slug, std::string_view token,
                           const Options& options = {});

// Constant-time comparison of two tokens.
bool same_token(std::string_view a, std::string_view b);

}  // namespace mailstead::streams

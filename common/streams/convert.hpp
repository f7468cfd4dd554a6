// Email → stream message conversion (docs/streams.md, "Conversion"): the subject becomes
// the topic, the body comes from text/plain (or HTML turned into text with gumbo), quoted
// earlier messages and the signature footer are trimmed unless the address's options say
// otherwise, attachments are collected for storing and linked from the body. Pure: bytes in,
// a message out; no store, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "streams/address.hpp"

namespace mailstead::streams {

struct ConvertLimits {
  std::size_t max_topic_bytes = 60;
  std::size_t max_body_bytes = 10000;             // longer: cut, "[message truncated]"
  std::size_t max_attachments = 20;               // more are left out, with a note
  std::uint64_t max_attachment_bytes = 25u << 20;  // all attachments of one message together
  std::size_t max_html_bytes = 2u << 20;          // HTML handed to the parser, at most
};

struct Attachment {
  std::string name;
  std::string content_type;
  std::string bytes;
};

struct Converted {
  std::string topic;
  std::string body;  // without attachment links (link_attachments adds them)
  std::vector<Attachment> attachments;
  std::string from_address;  // the header From's address ("" when none)
  std::string from_name;     // its display name
  bool truncated = false;
  bool html = false;  // the body came from HTML
};

// "Re: Fwd: AW: plans" → "plans"; non-printable characters dropped, whitespace collapsed,
// empty → "Email with no subject", cut to `max_bytes` at a UTF-8 boundary.
std::string subject_to_topic(std::string_view subject, std::size_t max_bytes = 60);
// True when the subject marks a forward (Fwd:, Fw:, WG:, TR:): quotes are the content then.
bool is_forward(std::string_view subject);
// HTML to plain, Markdown-ish text (links as [text](url), lists as "* ", blockquotes as "> ").
std::string html_to_text(std::string_view html, std::size_t max_input = 2u << 20);
// Removes quoted earlier messages: "> " lines with the attribution line before them, and
// everything from an "-----Original Message-----" or Outlook "From:/Sent:" block on.
std::string strip_quotes(std::string_view text);
// Removes the signature: everything from the first line that is "-- " (or "--") on.
std::string strip_footer(std::string_view text);
// Cuts `text` to `max_bytes` at a UTF-8 boundary.
std::string cut_utf8(std::string_view text, std::size_t max_bytes);

Converted convert(std::string_view message, const Options& options, const ConvertLimits& limits = {});

// The final body: show-sender's "From:" line, the text, "[message truncated]" when cut, and
// one "[name](url)" line per stored attachment (urls in the order of the attachments).
std::string compose_body(const Converted& c, const Options& options, const std::vector<std::string>& urls);

}  // namespace mailstead::streams

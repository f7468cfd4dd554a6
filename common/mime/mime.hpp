// A streaming MIME parser (RFC 5322, 2045, 2046, 2231) over a message's bytes: it records
// offsets into the message, never copies of it. Lines are its unit, so feeding the message
// whole or one byte at a time gives the same tree. Limits on nesting depth, part count and
// header size turn hostile input into a flatter tree, never into unbounded work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailstead::mime {

struct Limits {
  std::uint32_t max_depth = 32;          // nested multiparts / message/rfc822
  std::uint32_t max_parts = 2000;        // parts in the whole message
  std::size_t max_header_bytes = 256 * 1024;  // per part header; more is ignored, not stored
};

using Params = std::vector<std::pair<std::string, std::string>>;  // names lower case

struct Part {
  std::size_t header_begin = 0, header_end = 0;  // header_end is where the body begins
  std::size_t body_end = 0;
  std::string type = "text", subtype = "plain";  // lower case
  Params params;                                  // RFC 2231 continuations merged
  std::string id, description, md5, location, language;
  std::string encoding = "7bit";                  // lower case
  std::string disposition;                        // lower case, "" when absent
  Params disposition_params;
  bool header_truncated = false;
  std::vector<Part> children;  // the parts of a multipart, or the one message of message/rfc822

  bool is_multipart() const { return type == "multipart"; }
  bool is_message() const { return type == "message" && (subtype == "rfc822" || subtype == "global"); }
  std::string_view param(std::string_view name) const;
};

class Parser {
 public:
  explicit Parser(Limits limits = {});
  ~Parser();
  void feed(std::string_view chunk);
  // The tree for everything fed; the parser is spent afterwards.
  Part finish();

 private:
  struct Frame;
  void line(std::string_view text, std::size_t begin, std::size_t term_len);
  void end_header(Frame& f, std::size_t body_begin, bool open_children);
  void close_to(std::size_t depth, std::size_t end);
  Limits limits_;
  std::size_t offset_ = 0;   // bytes consumed so far
  std::string partial_;      // the current incomplete line (its first bytes only, when long)
  std::size_t partial_begin_ = 0, partial_len_ = 0;
  std::size_t prev_term_ = 0;  // terminator length of the previous line
  char last_byte_ = 0;          // the last byte of the current line so far
  std::uint32_t parts_ = 1;
  std::vector<Frame*> stack_;
  Part root_;
  std::vector<std::unique_ptr<Frame>> frames_;
};

// Parses a whole message.
Part parse(std::string_view message, Limits limits = {});

// Header fields of one part, unfolded, in order.
std::vector<std::pair<std::string, std::string>> header_fields(std::string_view header);

// RFC 2047 encoded words decoded to UTF-8 (charsets through iconv); text outside them is kept.
std::string decode_words(std::string_view value);

// Bytes in `charset` (a MIME charset name; "" or unknown: kept as they are) as UTF-8;
// invalid bytes become U+FFFD.
std::string to_utf8(const std::string& bytes, const std::string& charset);
// Lines of a part's body as IMAP counts them.
std::size_t body_lines(std::string_view message, const Part& p);

}  // namespace mailstead::mime

// Framing of what an SMTP client sends, without I/O: command lines (CRLF only; a bare LF
// is refused, RFC 5321 2.3.8) and the DATA stream (RFC 5321 4.5.2 dot-stuffing). Only
// CRLF.CRLF ends DATA; a bare CR or LF anywhere in the message is flagged so the message
// is refused (SMTP smuggling defence, as Postfix's smtpd_forbid_bare_newline = reject),
// and so are NUL bytes and header lines or headers over their limits (docs/smtp.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailstead::smtp {

enum class LineStatus { need_more, line, too_long, bare_lf };

struct LineResult {
  LineStatus status = LineStatus::need_more;
  std::string_view line;     // without CRLF (status line)
  std::size_t consumed = 0;  // bytes to drop from the buffer
};

// The next command line in `buf`. A line longer than `max_len` (without CRLF) is
// too_long; when no LF is in sight yet it consumes what it has so the session can skip
// to the end of that line without buffering it.
LineResult next_line(std::string_view buf, std::size_t max_len);

// Reads a DATA stream: un-stuffs dots, stops after CRLF.CRLF, keeps at most max_size bytes.
// The session drains what it has un-stuffed after each feed (into a spool), so the reader
// itself holds no more than one input chunk.
class DataReader {
 public:
  explicit DataReader(std::uint64_t max_size) : max_size_(max_size) {}
  // Consumes bytes up to and including the terminating ".CRLF"; returns the count.
  std::size_t feed(std::string_view in);
  bool done() const { return done_; }
  bool too_big() const { return too_big_; }
  bool bare_newline() const { return bare_newline_; }
  std::uint64_t size() const { return size_; }  // bytes seen, kept or not
  // The un-stuffed bytes not drained yet.
  std::string& message() { return message_; }
  std::string drain() { return std::exchange(message_, {}); }

 private:
  enum class State { line_start, mid, saw_cr, dot, dot_cr };
  void put(char c);
  std::uint64_t max_size_;
  std::uint64_t size_ = 0;
  State state_ = State::line_start;
  bool done_ = false, too_big_ = false, bare_newline_ = false;
  std::string message_;
};

// Limits on a message's header (docs/configuration.md, [smtpd]).
struct HeaderLimits {
  std::size_t max_line = 8192;         // one physical header line, without CRLF
  std::size_t max_size = 256 * 1024;   // the whole header, up to the blank line that ends it
};

// Watches a message's bytes as they arrive, in chunks of any size (DATA after
// un-stuffing, or BDAT chunks as they are, RFC 3030): a bare CR or LF, a NUL byte, a
// header line or a header over its limit. Holds nothing of the message.
class MessageScanner {
 public:
  explicit MessageScanner(HeaderLimits limits = {}) : limits_(limits) {}
  void feed(std::string_view chunk);
  // Call at the end of the message: a CR at the very end is bare too.
  void finish();
  bool bare_newline() const { return bare_newline_; }
  bool nul() const { return nul_; }
  bool header_line_too_long() const { return line_too_long_; }
  bool header_too_big() const { return header_too_big_; }
  const HeaderLimits& limits() const { return limits_; }

 private:
  void end_line();
  HeaderLimits limits_;
  bool pending_cr_ = false;
  bool in_header_ = true;
  std::size_t line_ = 0;    // bytes of the current header line so far
  std::size_t header_ = 0;  // bytes of the header so far
  bool bare_newline_ = false, nul_ = false, line_too_long_ = false, header_too_big_ = false;
};

// "250 2.1.0 Ok\r\n", or one line per entry with '-' continuations.
std::string reply(int code, std::string_view enhanced, std::string_view text);
std::string reply_lines(int code, std::string_view enhanced, const std::vector<std::string>& lines);

}  // namespace mailstead::smtp

// Command-line and DATA framing (see input.hpp).
#include "proto/input.hpp"

#include "util/scan.hpp"

namespace mailstead::smtp {

LineResult next_line(std::string_view buf, std::size_t max_len) {
  auto lf = buf.find('\n');
  if (lf == std::string_view::npos) {
    if (buf.size() > max_len + 1) return {LineStatus::too_long, {}, buf.size()};
    return {LineStatus::need_more, {}, 0};
  }
  if (lf == 0 || buf[lf - 1] != '\r') return {LineStatus::bare_lf, {}, lf + 1};
  if (lf - 1 > max_len) return {LineStatus::too_long, {}, lf + 1};
  return {LineStatus::line, buf.substr(0, lf - 1), lf + 1};
}

void DataReader::put(char c) {
  ++size_;
  if (size_ > max_size_) {
    if (!too_big_) {
      too_big_ = true;
      message_.clear();
      message_.shrink_to_fit();  // an oversized message is never held whole
    }
    return;
  }
  message_.push_back(c);
}

std::size_t DataReader::feed(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size() && !done_) {
    char c = in[i];
    switch (state_) {
      case State::line_start:
        if (c == '.') {
          state_ = State::dot;
          ++i;
          continue;
        }
        state_ = State::mid;
        continue;  // the same byte, as part of the line
      case State::mid: {
        // Copy the plain run up to the next CR or LF in one go, with its CRLF when the
        // line ends there.
        std::size_t j = util::find_line_byte(in, i);
        if (j == std::string_view::npos) j = in.size();
        bool crlf = j + 1 < in.size() && in[j] == '\r' && in[j + 1] == '\n';
        if (crlf) {
          j += 2;
          state_ = State::line_start;
        }
        if (j > i) {
          auto run = in.substr(i, j - i);
          if (!too_big_ && size_ + run.size() <= max_size_) {
            message_.append(run);
            size_ += run.size();
          } else {
            for (char r : run) put(r);
          }
          i = j;
          continue;
        }
        if (c == '\r') {
          state_ = State::saw_cr;
        } else {  // a bare LF: never a line end, so "\n.\r\n" cannot end the data
          bare_newline_ = true;
          put('\n');
          state_ = State::mid;
        }
        ++i;
        continue;
      }
      case State::saw_cr:
        if (c == '\n') {
          put('\r');
          put('\n');
          state_ = State::line_start;
          ++i;
        } else {  // a bare CR
          bare_newline_ = true;
          put('\r');
          state_ = State::mid;
        }
        continue;
      case State::dot:
        if (c == '\r') {
          state_ = State::dot_cr;
          ++i;
        } else {
          state_ = State::mid;  // the stuffed dot is dropped
        }
        continue;
      case State::dot_cr:
        if (c == '\n') {
          done_ = true;
          ++i;
        } else {
          bare_newline_ = true;
          put('\r');
          state_ = State::mid;
        }
        continue;
    }
  }
  return i;
}

void MessageScanner::end_line() {
  // The blank line ends the header (RFC 5322 2.1).
  if (line_ == 0) in_header_ = false;
  line_ = 0;
}

void MessageScanner::feed(std::string_view chunk) {
  std::size_t i = 0;
  if (pending_cr_ && !chunk.empty()) {
    pending_cr_ = false;
    if (chunk[0] == '\n') {
      if (in_header_) {
        if (++header_ > limits_.max_size) header_too_big_ = true;
        end_line();
      }
      i = 1;
    } else {
      bare_newline_ = true;
      if (in_header_ && ++line_ > limits_.max_line) line_too_long_ = true;
    }
  }
  for (; i < chunk.size(); ++i) {
    char c = chunk[i];
    if (!in_header_) {
      // The body: only NUL and bare line ends matter. Skip plain runs quickly.
      auto next = util::find_line_byte(chunk, i, true);
      if (next == std::string_view::npos) break;
      i = next;
      c = chunk[i];
    } else if (++header_ > limits_.max_size) {
      header_too_big_ = true;
    }
    if (c == '\0') {
      nul_ = true;
    } else if (c == '\r') {
      if (i + 1 == chunk.size()) {
        pending_cr_ = true;  // decided by the next chunk
        continue;
      }
      if (chunk[i + 1] == '\n') {
        if (in_header_) {
          if (++header_ > limits_.max_size) header_too_big_ = true;
          end_line();
        }
        ++i;
        continue;
      }
      bare_newline_ = true;
    } else if (c == '\n') {
      bare_newline_ = true;
      if (in_header_) end_line();
      continue;
    }
    if (in_header_ && ++line_ > limits_.max_line) line_too_long_ = true;
  }
}

void MessageScanner::finish() {
  if (pending_cr_) bare_newline_ = true;
  pending_cr_ = false;
}

std::string reply(int code, std::string_view enhanced, std::string_view text) {
  std::string r = std::to_string(code);
  r.push_back(' ');
  if (!enhanced.empty()) {
    r.append(enhanced);
    r.push_back(' ');
  }
  r.append(text);
  r.append("\r\n");
  return r;
}

std::string reply_lines(int code, std::string_view enhanced, const std::vector<std::string>& lines) {
  std::string r;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    r += std::to_string(code);
    r.push_back(i + 1 < lines.size() ? '-' : ' ');
    if (!enhanced.empty()) {
      r.append(enhanced);
      r.push_back(' ');
    }
    r += lines[i];
    r += "\r\n";
  }
  return r;
}

}  // namespace mailstead::smtp

#include "proto/protocol.hpp"

#include <cctype>
#include <charconv>

namespace mailstead::managesieve {

namespace {

// "{123}" or "{123+}" just before `crlf`: its length, else -1.
long long literal_before(std::string_view in, std::size_t crlf) {
  if (crlf == 0 || in[crlf - 1] != '}') return -1;
  auto open = in.rfind('{', crlf);
  if (open == std::string_view::npos) return -1;
  auto inner = in.substr(open + 1, crlf - 1 - open - 1);
  if (!inner.empty() && inner.back() == '+') inner.remove_suffix(1);
  if (inner.empty() || inner.size() > 12) return -1;
  for (char c : inner)
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
  long long v = 0;
  std::from_chars(inner.data(), inner.data() + inner.size(), v);
  return v;
}

}  // namespace

Frame frame(std::string_view in, std::size_t max_line, std::uint64_t max_literal) {
  Frame f;
  std::size_t pos = 0, line_start = 0;
  for (;;) {
    auto crlf = in.find("\r\n", pos);
    if (crlf == std::string_view::npos) {
      if (in.size() - line_start > max_line) f.status = Frame::Status::too_long;
      return f;
    }
    if (crlf - line_start > max_line) {
      f.status = Frame::Status::too_long;
      f.end = crlf + 2;
      return f;
    }
    auto lit = literal_before(in, crlf);
    if (lit < 0) {
      f.status = Frame::Status::complete;
      f.end = crlf + 2;
      return f;
    }
    if (static_cast<std::uint64_t>(lit) > max_literal) {
      f.status = Frame::Status::too_big;
      f.literal = static_cast<std::uint64_t>(lit);
      f.end = crlf + 2;
      return f;
    }
    auto after = crlf + 2 + static_cast<std::size_t>(lit);
    if (in.size() < after) return f;  // need the literal's bytes
    pos = line_start = after;
  }
}

std::variant<Command, std::string> parse(std::string_view s) {
  Command c;
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < s.size() && s[i] == ' ') ++i;
  };
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) c.name += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i++])));
  if (c.name.empty()) return std::string("Expected a command name");
  for (;;) {
    skip_spaces();
    if (s.substr(i) == "\r\n") return c;
    if (i >= s.size()) return std::string("Missing CRLF");
    Argument a;
    char ch = s[i];
    if (ch == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char q = s[i++];
        if (q == '"') {
          closed = true;
          break;
        }
        if (q == '\\') {
          if (i >= s.size() || (s[i] != '"' && s[i] != '\\')) return std::string("Bad escape in a quoted string");
          q = s[i++];
        }
        if (q == '\r' || q == '\n' || q == '\0') return std::string("Line breaks are not allowed in quoted strings; use a literal");
        a.text += q;
      }
      if (!closed) return std::string("Unterminated quoted string");
    } else if (ch == '{') {
      auto close = s.find('}', i);
      if (close == std::string_view::npos || s.substr(close + 1, 2) != "\r\n") return std::string("Bad literal");
      auto n = literal_before(s, close + 1);
      if (n < 0) return std::string("Bad literal");
      auto start = close + 3;
      if (s.size() < start + static_cast<std::size_t>(n)) return std::string("Literal shorter than announced");
      a.text = std::string(s.substr(start, static_cast<std::size_t>(n)));
      i = start + static_cast<std::size_t>(n);
    } else if (std::isdigit(static_cast<unsigned char>(ch))) {
      a.kind = Argument::Kind::number;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) a.text += s[i++];
      if (a.text.size() > 10) return std::string("Number too large");
    } else if (std::isalpha(static_cast<unsigned char>(ch))) {
      a.kind = Argument::Kind::atom;
      while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) a.text += s[i++];
    } else {
      return std::string("Unexpected character in arguments");
    }
    if (i < s.size() && s[i] != ' ' && s[i] != '\r') return std::string("Expected a space between arguments");
    c.args.push_back(std::move(a));
    if (c.args.size() > 16) return std::string("Too many arguments");
  }
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string string_out(std::string_view s) {
  bool plain = s.size() <= 1024;
  for (char c : s) plain &= c != '\r' && c != '\n' && c != '\0';
  if (plain) return quoted(s);
  return "{" + std::to_string(s.size()) + "}\r\n" + std::string(s);
}

}  // namespace mailstead::managesieve

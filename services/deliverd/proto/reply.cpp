// SMTP replies and EHLO capabilities (see reply.hpp).
#include "proto/reply.hpp"

#include <cctype>

namespace mailstead::outbound {

std::string Reply::text() const {
  std::string out = code ? std::to_string(code) : std::string();
  for (const auto& l : lines) {
    if (!out.empty()) out += ' ';
    out += l;
  }
  return out;
}

ParseStatus parse_reply(std::string_view buf, Reply& out, std::size_t& consumed, std::size_t max_line) {
  out = Reply{};
  std::size_t pos = 0;
  for (int n = 0; n < 100; ++n) {
    auto eol = buf.find('\n', pos);
    if (eol == std::string_view::npos) return buf.size() - pos > max_line ? ParseStatus::malformed : ParseStatus::need_more;
    auto line = buf.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_line || line.size() < 3) return ParseStatus::malformed;
    for (int i = 0; i < 3; ++i)
      if (!std::isdigit(static_cast<unsigned char>(line[i]))) return ParseStatus::malformed;
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code < 200 || code > 599) return ParseStatus::malformed;
    if (out.code && code != out.code) return ParseStatus::malformed;
    out.code = code;
    char sep = line.size() > 3 ? line[3] : ' ';
    if (sep != ' ' && sep != '-') return ParseStatus::malformed;
    out.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    pos = eol + 1;
    if (sep == ' ') {
      consumed = pos;
      return ParseStatus::complete;
    }
  }
  return ParseStatus::malformed;
}

Capabilities parse_ehlo(const Reply& ehlo) {
  Capabilities c;
  c.esmtp = ehlo.code == 250;
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {  // the first line is the greeting
    std::string line = ehlo.lines[i];
    std::string word;
    std::size_t p = 0;
    while (p < line.size() && line[p] != ' ' && line[p] != '=') word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(line[p++]))));
    std::string rest = p < line.size() ? line.substr(p + 1) : "";
    if (word == "PIPELINING") c.pipelining = true;
    else if (word == "STARTTLS") c.starttls = true;
    else if (word == "8BITMIME") c.eightbitmime = true;
    else if (word == "SMTPUTF8") c.smtputf8 = true;
    else if (word == "CHUNKING") c.chunking = true;
    else if (word == "ENHANCEDSTATUSCODES") c.enhanced_codes = true;
    else if (word == "DSN") c.dsn = true;
    else if (word == "SIZE") c.size = rest.empty() ? 0 : std::strtoull(rest.c_str(), nullptr, 10);
    else if (word == "AUTH") {
      std::string m;
      for (char ch : rest + " ") {
        if (ch == ' ') {
          if (!m.empty()) c.auth.push_back(m);
          m.clear();
        } else {
          m.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
        }
      }
    }
  }
  return c;
}

bool has_8bit(std::string_view message) {
  for (unsigned char ch : message)
    if (ch > 127) return true;
  return false;
}

bool needs_smtputf8(std::string_view sender, const std::vector<std::string>& recipients, std::string_view message) {
  if (has_8bit(sender)) return true;
  for (const auto& r : recipients)
    if (has_8bit(r)) return true;
  // Non-ASCII in the header (RFC 6532 internationalised headers), not merely an 8-bit body.
  auto end = message.find("\r\n\r\n");
  return has_8bit(message.substr(0, end == std::string_view::npos ? message.size() : end));
}

std::string dot_stuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = c == '\n';
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace mailstead::outbound

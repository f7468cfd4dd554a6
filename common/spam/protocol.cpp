// spamd protocol requests and the strict reply parser (see protocol.hpp).
#include "spam/protocol.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "util/text.hpp"

namespace mailstead::spam {

namespace {

const char* verb_name(Verb v) {
  switch (v) {
    case Verb::check: return "CHECK";
    case Verb::symbols: return "SYMBOLS";
    case Verb::report: return "REPORT";
    case Verb::tell: return "TELL";
    case Verb::ping: return "PING";
  }
  return "CHECK";
}

// A header value we send: printable ASCII only (a user name comes from the directory, but
// a CR or LF would split the request).
std::string clean(std::string_view s) {
  std::string out;
  for (char c : s)
    if (static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f) out += c;
  return out;
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty() || s.size() > 4) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// A decimal number as SpamAssassin prints scores: [-]digits[.digits].
bool parse_score(std::string_view s, double& out) {
  s = trim(s);
  if (s.empty() || s.size() > 16) return false;
  std::size_t i = (s[0] == '-') ? 1 : 0;
  bool digits = false, dot = false;
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) digits = true;
    else if (s[i] == '.' && !dot) dot = true;
    else return false;
  }
  if (!digits) return false;
  out = std::strtod(std::string(s).c_str(), nullptr);
  return true;
}

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while (p <= v.size()) {
    auto c = v.find(',', p);
    if (c == std::string_view::npos) c = v.size();
    auto item = trim(v.substr(p, c - p));
    if (!item.empty()) out.emplace_back(item);
    p = c + 1;
  }
  return out;
}

}  // namespace

std::string build_request(const Request& r, std::string_view message) {
  std::string out = verb_name(r.verb);
  out += " SPAMC/1.5\r\n";
  if (r.verb == Verb::ping) return out + "\r\n";
  if (r.verb == Verb::tell) {
    out += "Message-class: " + clean(r.message_class) + "\r\n";
    out += r.set_local ? "Set: local\r\n" : "Remove: local\r\n";
  }
  out += "Content-length: " + std::to_string(message.size()) + "\r\n";
  if (!r.user.empty()) out += "User: " + clean(r.user) + "\r\n";
  out += "\r\n";
  out.append(message);
  return out;
}

ReplyResult parse_reply(std::string_view in, bool eof) {
  auto head_end = in.find("\r\n\r\n");
  // spamd 3.x ends a reply without headers (PING) after the status line.
  if (head_end == std::string_view::npos) {
    if (in.size() > max_reply_header) return ReplyError{"reply header longer than " + std::to_string(max_reply_header) + " bytes"};
    if (!eof) return NeedMore{};
    if (in.ends_with("\r\n") && in.find("\r\n") == in.size() - 2) head_end = in.size() - 2;  // status line only
    else return ReplyError{"reply ends inside its header"};
  }
  if (head_end > max_reply_header) return ReplyError{"reply header longer than " + std::to_string(max_reply_header) + " bytes"};
  Reply r;
  auto head = in.substr(0, head_end);
  std::size_t body_at = std::min(in.size(), head_end + 4);
  // Status line: SPAMD/<d>.<d> <code> <message>
  auto eol = head.find("\r\n");
  auto status = head.substr(0, eol);
  if (!status.starts_with("SPAMD/")) return ReplyError{"reply does not start with SPAMD/"};
  auto sp = status.find(' ');
  if (sp == std::string_view::npos) return ReplyError{"malformed status line"};
  auto version = status.substr(6, sp - 6);
  auto dot = version.find('.');
  if (dot == std::string_view::npos || !parse_int(version.substr(0, dot), r.major) ||
      !parse_int(version.substr(dot + 1), r.minor))
    return ReplyError{"malformed protocol version"};
  auto rest = status.substr(sp + 1);
  auto sp2 = rest.find(' ');
  auto code = rest.substr(0, sp2);
  if (!parse_int(code, r.code) || r.code < 0) return ReplyError{"malformed status code"};
  r.message = sp2 == std::string_view::npos ? "" : std::string(rest.substr(sp2 + 1));
  for (char c : r.message)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return ReplyError{"control character in status line"};
  // Header fields.
  std::size_t p = eol == std::string_view::npos ? head.size() : eol + 2;
  int fields = 0;
  while (p < head.size()) {
    auto e = head.find("\r\n", p);
    if (e == std::string_view::npos) e = head.size();
    auto line = head.substr(p, e - p);
    p = e + 2;
    if (++fields > 32) return ReplyError{"too many reply header fields"};
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return ReplyError{"malformed reply header field"};
    auto name = line.substr(0, colon);
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return ReplyError{"malformed reply header name"};
    auto value = trim(line.substr(colon + 1));
    for (char c : value)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return ReplyError{"control character in reply header"};
    if (iequals(name, "Content-length")) {
      if (r.content_length) return ReplyError{"Content-length twice"};
      std::size_t n = 0;
      auto res = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || res.ec != std::errc{} || res.ptr != value.data() + value.size())
        return ReplyError{"malformed Content-length"};
      if (n > max_reply_body) return ReplyError{"reply body longer than " + std::to_string(max_reply_body) + " bytes"};
      r.content_length = n;
    } else if (iequals(name, "Spam")) {
      if (r.spam) return ReplyError{"Spam field twice"};
      // True ; 15.3 / 5.0
      auto semi = value.find(';');
      auto slash = value.find('/');
      if (semi == std::string_view::npos || slash == std::string_view::npos || slash < semi)
        return ReplyError{"malformed Spam field"};
      auto flag = trim(value.substr(0, semi));
      if (iequals(flag, "True") || iequals(flag, "Yes")) r.spam = true;
      else if (iequals(flag, "False") || iequals(flag, "No")) r.spam = false;
      else return ReplyError{"malformed Spam field"};
      if (!parse_score(value.substr(semi + 1, slash - semi - 1), r.score) || !parse_score(value.substr(slash + 1), r.threshold))
        return ReplyError{"malformed score in Spam field"};
    } else if (iequals(name, "DidSet")) {
      for (auto& s : split_list(value)) r.did_set.push_back(std::move(s));
    } else if (iequals(name, "DidRemove")) {
      for (auto& s : split_list(value)) r.did_remove.push_back(std::move(s));
    }
    // Other fields (future protocol versions) are ignored.
  }
  auto body = in.substr(body_at);
  if (r.content_length) {
    if (body.size() < *r.content_length) {
      if (eof) return ReplyError{"reply shorter than its Content-length"};
      return NeedMore{};
    }
    if (body.size() > *r.content_length) return ReplyError{"reply longer than its Content-length"};
  } else {
    if (body.size() > max_reply_body) return ReplyError{"reply body longer than " + std::to_string(max_reply_body) + " bytes"};
    if (!eof) return NeedMore{};
  }
  r.body = std::string(body);
  return r;
}

std::vector<std::string> symbols_of(std::string_view body) {
  std::vector<std::string> out;
  for (auto& s : split_list(body)) {
    bool ok = s.size() <= 64;
    for (char c : s) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (ok) out.push_back(std::move(s));
    if (out.size() >= 200) break;
  }
  return out;
}

}  // namespace mailstead::spam

// The SMTP command parser (RFC 5321 4.1.1, 4.1.2): one line in, a command or a syntax
// error out. Verbs are case-insensitive; MAIL/RCPT take a path in angle brackets and
// ESMTP parameters (keyword[=value]).
#include <cctype>
#include <charconv>
#include <string>

#include "proto/command.hpp"
#include "util/text.hpp"

namespace mailstead::smtp {

namespace {

SyntaxError error(int code, std::string enhanced, std::string text) {
  return SyntaxError{code, std::move(enhanced), std::move(text)};
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// "FROM:<path> params" after the verb. RFC 5321 allows no space after the colon, but
// many clients send one; accept it as Postfix does.
bool split_path(std::string_view rest, std::string_view keyword, std::string& path, std::string_view& params) {
  if (rest.size() < keyword.size() || !iequals(rest.substr(0, keyword.size()), keyword)) return false;
  rest.remove_prefix(keyword.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty() || rest.front() != '<') return false;
  // The path ends at the first '>' not inside a quoted string.
  bool quoted = false;
  std::size_t i = 1;
  for (; i < rest.size(); ++i) {
    char c = rest[i];
    if (quoted && c == '\\') { ++i; continue; }
    if (c == '"') quoted = !quoted;
    else if (c == '>' && !quoted) break;
  }
  if (i >= rest.size()) return false;
  path = std::string(rest.substr(1, i - 1));
  params = rest.substr(i + 1);
  if (!params.empty() && params.front() != ' ') return false;
  while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
  return true;
}

// The EHLO/HELO argument (RFC 5321 4.1.1.1): names are not checked strictly (clients send
// NetBIOS names, underscores, bare host names), but it goes into the Received field, so
// nothing that could change that field's meaning gets in: no control characters, spaces,
// comment or angle brackets, quotes, backslashes, ';' or ','. An address literal is
// "[" address "]" with letters, digits, '.', ':' and '-' inside.
bool valid_helo_name(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return false;
    for (unsigned char c : d.substr(1, d.size() - 2))
      if (!std::isalnum(c) && c != '.' && c != ':' && c != '-') return false;
    return true;
  }
  for (unsigned char c : d) {
    if (c < 0x21 || c == 0x7f) return false;
    if (std::string_view("()<>[];,\"\\").find(static_cast<char>(c)) != std::string_view::npos) return false;
  }
  return true;
}

template <class Fn>
std::optional<SyntaxError> for_each_param(std::string_view params, Fn fn) {
  while (!params.empty()) {
    auto sp = params.find(' ');
    auto p = params.substr(0, sp);
    params = sp == std::string_view::npos ? std::string_view{} : params.substr(sp + 1);
    while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
    if (p.empty()) continue;
    auto eq = p.find('=');
    auto key = upper(p.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::string_view{} : p.substr(eq + 1);
    if (auto e = fn(key, value, eq != std::string_view::npos)) return e;
  }
  return std::nullopt;
}

ParseResult parse_mail(std::string_view rest) {
  Mail m;
  std::string_view params;
  if (!split_path(rest, "FROM:", m.path, params))
    return error(501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]");
  auto e = for_each_param(params, [&](const std::string& key, std::string_view v, bool has) -> std::optional<SyntaxError> {
    if (key == "SIZE") {
      std::uint64_t n = 0;
      if (!has || !parse_u64(v, n)) return error(501, "5.5.4", "Bad SIZE parameter");
      m.size = n;
    } else if (key == "BODY") {
      auto b = upper(v);
      if (b == "7BIT") m.body = Body::seven_bit;
      else if (b == "8BITMIME") m.body = Body::eight_bit_mime;
      else return error(501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
    } else if (key == "SMTPUTF8") {
      if (has) return error(501, "5.5.4", "SMTPUTF8 takes no value");
      m.smtputf8 = true;
    } else if (key == "RET") {
      auto r = upper(v);
      if (r != "FULL" && r != "HDRS") return error(501, "5.5.4", "RET must be FULL or HDRS");
      m.ret = r;
    } else if (key == "ENVID") {
      // Thunderbird sends its Message-ID without xtext encoding: take it as it is.
      if (!has || v.empty() || v.size() > 100) return error(501, "5.5.4", "Bad ENVID parameter");
      m.envid = std::string(v);
    } else if (key == "AUTH") {
      if (!has) return error(501, "5.5.4", "Bad AUTH parameter");
      m.auth = std::string(v);
    } else {
      return error(555, "5.5.4", "Unsupported MAIL parameter " + key);
    }
    return std::nullopt;
  });
  if (e) return *e;
  return Command{std::move(m)};
}

ParseResult parse_rcpt(std::string_view rest) {
  Rcpt r;
  std::string_view params;
  if (!split_path(rest, "TO:", r.path, params)) return error(501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]");
  if (r.path.empty()) return error(501, "5.1.3", "Empty recipient address");
  auto e = for_each_param(params, [&](const std::string& key, std::string_view v, bool has) -> std::optional<SyntaxError> {
    if (key == "NOTIFY") {
      auto n = upper(v);
      if (!has || n.empty()) return error(501, "5.5.4", "Bad NOTIFY parameter");
      // NEVER alone, or a list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1).
      if (n != "NEVER") {
        std::size_t start = 0;
        while (start <= n.size()) {
          auto end = n.find(',', start);
          if (end == std::string::npos) end = n.size();
          auto item = n.substr(start, end - start);
          if (item != "SUCCESS" && item != "FAILURE" && item != "DELAY") return error(501, "5.5.4", "Bad NOTIFY parameter");
          start = end + 1;
        }
      }
      r.notify = n;
    } else if (key == "ORCPT") {
      if (!has || v.find(';') == std::string_view::npos) return error(501, "5.5.4", "Bad ORCPT parameter");
      r.orcpt = std::string(v);
    } else {
      return error(555, "5.5.4", "Unsupported RCPT parameter " + key);
    }
    return std::nullopt;
  });
  if (e) return *e;
  return Command{std::move(r)};
}

}  // namespace

ParseResult parse_command(std::string_view line) {
  for (unsigned char c : line)
    if (c == 0 || c == '\r' || c == '\n') return error(500, "5.5.2", "Control characters are not allowed in commands");
  auto sp = line.find(' ');
  auto verb = upper(line.substr(0, sp));
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  auto no_args = [&](Command c) -> ParseResult {
    if (!trim(rest).empty()) return error(501, "5.5.4", verb + " takes no arguments");
    return c;
  };

  if (verb == "EHLO" || verb == "HELO") {
    auto d = trim(rest);
    if (d.empty() || d.find(' ') != std::string_view::npos) return error(501, "5.5.4", "Syntax: " + verb + " hostname");
    if (!valid_helo_name(d)) return error(501, "5.5.4", "Invalid " + verb + " name: use your host name or an address literal");
    return Command{Helo{std::string(d), verb == "EHLO"}};
  }
  if (verb == "MAIL") return parse_mail(rest);
  if (verb == "RCPT") return parse_rcpt(rest);
  if (verb == "DATA") return no_args(Data{});
  if (verb == "BDAT") {
    auto a = trim(rest);
    auto s = a.find(' ');
    Bdat b;
    if (!parse_u64(a.substr(0, s), b.size)) return error(501, "5.5.4", "Syntax: BDAT size [LAST]");
    if (s != std::string_view::npos) {
      if (!iequals(trim(a.substr(s + 1)), "LAST")) return error(501, "5.5.4", "Syntax: BDAT size [LAST]");
      b.last = true;
    }
    return Command{b};
  }
  if (verb == "RSET") return no_args(Rset{});
  if (verb == "NOOP") return Command{Noop{}};  // NOOP may take a string (RFC 5321 4.1.1.9)
  if (verb == "QUIT") return no_args(Quit{});
  if (verb == "VRFY") return Command{Vrfy{std::string(trim(rest))}};
  if (verb == "EXPN") return Command{Expn{std::string(trim(rest))}};
  if (verb == "HELP") return Command{Help{}};
  if (verb == "STARTTLS") return no_args(StartTls{});
  if (verb == "AUTH") {
    auto a = trim(rest);
    if (a.empty()) return error(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
    auto s = a.find(' ');
    Auth au;
    au.mechanism = upper(a.substr(0, s));
    if (s != std::string_view::npos) au.initial = std::string(trim(a.substr(s + 1)));
    return Command{std::move(au)};
  }
  if (verb.empty()) return error(500, "5.5.2", "Empty command");
  return error(502, "5.5.1", "Command not recognised");
}

const char* command_name(const Command& c) {
  struct V {
    const char* operator()(const Helo& h) const { return h.extended ? "EHLO" : "HELO"; }
    const char* operator()(const Mail&) const { return "MAIL"; }
    const char* operator()(const Rcpt&) const { return "RCPT"; }
    const char* operator()(const Data&) const { return "DATA"; }
    const char* operator()(const Bdat&) const { return "BDAT"; }
    const char* operator()(const Rset&) const { return "RSET"; }
    const char* operator()(const Noop&) const { return "NOOP"; }
    const char* operator()(const Quit&) const { return "QUIT"; }
    const char* operator()(const Vrfy&) const { return "VRFY"; }
    const char* operator()(const Expn&) const { return "EXPN"; }
    const char* operator()(const Help&) const { return "HELP"; }
    const char* operator()(const StartTls&) const { return "STARTTLS"; }
    const char* operator()(const Auth&) const { return "AUTH"; }
  };
  return std::visit(V{}, c);
}

}  // namespace mailstead::smtp

// IMAP framing and tokens (RFC 3501 9 formal syntax; RFC 7888 LITERAL+).
#include "proto/parser.hpp"

#include <cctype>
#include <charconv>

#include "util/text.hpp"

namespace mailstead::imap {

namespace {

// A literal announcement "{123}" or "{123+}" at the end of `line`.
bool literal_at_end(std::string_view line, std::uint64_t& n, bool& sync) {
  if (line.empty() || line.back() != '}') return false;
  auto open = line.rfind('{');
  if (open == std::string_view::npos) return false;
  auto inner = line.substr(open + 1, line.size() - open - 2);
  sync = true;
  if (!inner.empty() && inner.back() == '+') {
    sync = false;
    inner.remove_suffix(1);
  }
  if (inner.empty() || inner.size() > 19) return false;
  auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), n);
  return ec == std::errc{} && p == inner.data() + inner.size();
}

bool atom_char(unsigned char c) {
  return c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"' && c != '\\' && c != ']' && c != '%' &&
         c != '*';
}

// Atoms whose "[section]" may hold spaces (RFC 3501 9 fetch-att, RFC 3516 BINARY).
bool section_prefix(std::string_view name) {
  for (std::string_view p : {"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"})
    if (iequals(name, p)) return true;
  return false;
}

class Tokenizer {
 public:
  Tokenizer(std::string_view s, ParseLimits l) : s_(s), limits_(l) {}

  bool at_end() const { return i_ >= s_.size() || s_.compare(i_, 2, "\r\n") == 0; }
  bool space() {
    if (i_ < s_.size() && s_[i_] == ' ') {
      ++i_;
      return true;
    }
    return false;
  }
  std::optional<std::string> error;

  bool token(Token& t, std::size_t depth) {
    if (++count_ > limits_.max_tokens) return fail("too many tokens");
    if (i_ >= s_.size()) return fail("missing argument");
    char c = s_[i_];
    if (c == '(') {
      if (depth >= limits_.max_depth) return fail("lists nested too deeply");
      ++i_;
      t.kind = Token::Kind::list;
      while (i_ < s_.size() && s_[i_] != ')') {
        Token item;
        if (!token(item, depth + 1)) return false;
        t.items.push_back(std::move(item));
        if (i_ < s_.size() && s_[i_] == ' ') ++i_;
        else if (i_ >= s_.size() || s_[i_] != ')') return fail("expected ')' or a space in a list");
      }
      if (i_ >= s_.size()) return fail("unterminated list");
      ++i_;
      return true;
    }
    if (c == '"') {
      t.kind = Token::Kind::string;
      ++i_;
      while (i_ < s_.size() && s_[i_] != '"') {
        char ch = s_[i_];
        if (ch == '\r' || ch == '\n') return fail("line break in a quoted string");
        if (ch == '\\') {
          if (++i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\\')) return fail("bad escape in a quoted string");
          ch = s_[i_];
        }
        t.text.push_back(ch);
        ++i_;
      }
      if (i_ >= s_.size()) return fail("unterminated quoted string");
      ++i_;
      return true;
    }
    // {n}, {n+}, and ~{n} / ~{n+} (literal8, RFC 3516); "~" before anything else starts
    // an atom such as a mailbox name "~foo".
    if (c == '{' || (c == '~' && s_.compare(i_, 2, "~{") == 0)) {
      if (c == '~') {
        t.literal8 = true;
        ++i_;
      }
      auto close = s_.find('}', i_);
      if (close == std::string_view::npos || s_.compare(close + 1, 2, "\r\n") != 0) return fail("bad literal");
      std::uint64_t n = 0;
      bool sync = true;
      if (!literal_at_end(s_.substr(i_, close - i_ + 1), n, sync)) return fail("bad literal");
      auto start = close + 3;
      if (n > s_.size() - start) return fail("literal longer than the data");
      t.kind = Token::Kind::string;
      t.literal = true;
      t.text = std::string(s_.substr(start, n));
      i_ = start + n;
      return true;
    }
    // An atom. In a FETCH attribute (BODY[…], BODY.PEEK[…], BINARY…[…]) the [section] may
    // hold spaces and ends at its "]"; elsewhere "[" and "]" are ordinary characters of an
    // atom or astring, as in the mailbox name "[Gmail]/Sent" or "a[b".
    t.kind = Token::Kind::atom;
    std::size_t start = i_;
    while (i_ < s_.size()) {
      unsigned char ch = static_cast<unsigned char>(s_[i_]);
      if (ch == '[' && section_prefix(s_.substr(start, i_ - start))) {
        int nest = 0;
        while (i_ < s_.size()) {
          if (s_[i_] == '[') ++nest;
          else if (s_[i_] == ']' && --nest == 0) break;
          else if (s_[i_] == '\r' || s_[i_] == '\n') return fail("unterminated [");
          ++i_;
        }
        if (i_ >= s_.size()) return fail("unterminated [");
        ++i_;
        continue;
      }
      // Flags (\Seen, \*) are atoms with a leading backslash.
      if (atom_char(ch) || ch == '%' || ch == '*' || ch == ']' || ch == '[' || (ch == '\\' && i_ == start)) {
        ++i_;
        continue;
      }
      break;
    }
    if (i_ == start) return fail(std::string("unexpected character '") + static_cast<char>(c) + "'");
    t.text = std::string(s_.substr(start, i_ - start));
    return true;
  }

 private:
  bool fail(std::string why) {
    if (!error) error = std::move(why);
    return false;
  }
  std::string_view s_;
  ParseLimits limits_;
  std::size_t i_ = 0;
  std::size_t count_ = 0;
  friend ParseResult mailstead::imap::parse_command(std::string_view, ParseLimits);
};

}  // namespace

bool Token::is_nil() const { return kind == Kind::atom && iequals(text, "NIL"); }
bool Token::is_atom(std::string_view upper_name) const { return kind == Kind::atom && iequals(text, upper_name); }

Framing frame(std::string_view buf, std::size_t from, std::size_t max_line) {
  Framing f;
  auto crlf = buf.find("\r\n", from);
  if (crlf == std::string_view::npos) {
    if (buf.size() - from > max_line) f.status = Framing::Status::too_long;
    return f;
  }
  if (crlf - from > max_line) {
    f.status = Framing::Status::too_long;
    f.end = crlf + 2;
    return f;
  }
  std::uint64_t n = 0;
  bool sync = true;
  if (literal_at_end(buf.substr(from, crlf - from), n, sync)) {
    f.status = Framing::Status::need_literal;
    f.literal = n;
    f.synchronizing = sync;
    f.literal_at = crlf + 2;
    return f;
  }
  f.status = Framing::Status::complete;
  f.end = crlf + 2;
  return f;
}

ParseResult parse_command(std::string_view text, ParseLimits limits) {
  // tag SP command
  std::size_t sp = text.find(' ');
  std::string tag(text.substr(0, std::min(sp, text.find("\r\n"))));
  if (tag.empty() || tag.size() > 64) return ParseError{"*", "Missing or overlong tag"};
  for (unsigned char c : tag)
    if (!atom_char(c) || c == '+') return ParseError{"*", "Invalid tag"};
  if (sp == std::string_view::npos || sp + 1 >= text.size()) return ParseError{tag, "Missing command"};
  auto body = text.substr(sp + 1);
  Tokenizer tz(body, limits);
  Command cmd;
  cmd.tag = tag;
  Token name;
  if (!tz.token(name, 0) || name.kind != Token::Kind::atom) return ParseError{tag, "Missing command"};
  cmd.name = upper(name.text);
  if (cmd.name == "UID") {
    Token sub;
    if (!tz.space() || !tz.token(sub, 0) || sub.kind != Token::Kind::atom) return ParseError{tag, "UID needs a command"};
    cmd.name += " " + upper(sub.text);
  }
  while (!tz.at_end()) {
    if (!tz.space()) return ParseError{tag, "Expected a space between arguments"};
    Token t;
    if (!tz.token(t, 0)) return ParseError{tag, "Syntax error: " + tz.error.value_or("bad argument")};
    cmd.args.push_back(std::move(t));
  }
  if (tz.i_ + 2 != body.size() || body.compare(tz.i_, 2, "\r\n") != 0) return ParseError{tag, "Syntax error at end of command"};
  return cmd;
}

bool SequenceSet::contains(std::uint32_t n, std::uint32_t star) const {
  for (auto [a, b] : ranges) {
    std::uint32_t lo = a ? a : star, hi = b ? b : star;
    if (lo > hi) std::swap(lo, hi);
    if (n >= lo && n <= hi) return true;
  }
  return false;
}

std::optional<SequenceSet> parse_sequence_set(std::string_view s) {
  SequenceSet set;
  if (s.empty()) return std::nullopt;
  if (s == "$") {
    set.saved = true;
    return set;
  }
  auto number = [](std::string_view v, std::uint32_t& out) {
    if (v == "*") {
      out = 0;
      return true;
    }
    if (v.empty() || v[0] == '0') return false;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc{} && p == v.data() + v.size();
  };
  std::size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    auto item = s.substr(start, comma - start);
    auto colon = item.find(':');
    std::uint32_t a = 0, b = 0;
    if (colon == std::string_view::npos) {
      if (!number(item, a)) return std::nullopt;
      b = a;
    } else if (!number(item.substr(0, colon), a) || !number(item.substr(colon + 1), b)) {
      return std::nullopt;
    }
    set.ranges.emplace_back(a, b);
    if (set.ranges.size() > 100000) return std::nullopt;
    start = comma + 1;
  }
  return set;
}

std::string new_mailbox_name_problem(std::string_view name) {
  if (name.empty()) return "The name is empty";
  if (name.front() == '#' || name.front() == '~')
    return "Names starting with # or ~ are reserved for other namespaces";
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    // C0 controls and DEL; C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F in UTF-8.
    bool c1 = c == 0xC2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(name[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) return "Names may not contain control characters";
  }
  std::size_t start = 0;
  for (;;) {
    auto slash = name.find('/', start);
    auto level = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (level.empty()) return "Names may not have an empty level";
    if (level == "." || level == "..") return "Names may not have a . or .. level";
    if (slash == std::string_view::npos) return "";
    start = slash + 1;
  }
}

std::string normalize_mailbox(std::string_view name) {
  if (iequals(name, "INBOX")) return "INBOX";
  if (name.size() > 6 && iequals(name.substr(0, 6), "INBOX/")) return "INBOX" + std::string(name.substr(5));
  return std::string(name);
}

}  // namespace mailstead::imap

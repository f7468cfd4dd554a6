// IMAP responses, client side (see imap_response.hpp). RFC 3501 9 for the grammar.
#include "imap_response.hpp"

#include <cctype>

namespace mailstead::poll {

namespace {

bool parse_u64(std::string_view s, std::uint64_t max, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

std::optional<std::uint32_t> to_u32(std::string_view s) {
  std::uint64_t v = 0;
  if (!parse_u64(s, UINT32_MAX, v)) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

// "{123}" or "{123+}" (RFC 7888) at the end of `seg`: the literal's size. `overflow`: the
// digits are there but no 64-bit number holds them.
std::optional<std::uint64_t> literal_at_end(std::string_view seg, bool* overflow = nullptr) {
  if (seg.empty() || seg.back() != '}') return std::nullopt;
  auto open = seg.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  auto digits = seg.substr(open + 1, seg.size() - open - 2);
  if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
  std::uint64_t n = 0;
  if (!parse_u64(digits, UINT64_MAX, n)) {
    if (overflow && !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) *overflow = true;
    return std::nullopt;
  }
  return n;
}

// Splits off the first word of `s` (up to a space).
std::string_view word(std::string_view& s) {
  auto sp = s.find(' ');
  auto w = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
  return w;
}

}  // namespace

FrameResult frame_response(std::string_view buffered, const Limits& limits, Frame& out) {
  Frame f;
  std::uint64_t literal_bytes = 0;
  std::size_t pos = 0;
  for (;;) {
    auto lf = buffered.find('\n', pos);
    if (lf == std::string_view::npos) {
      if (f.text.size() + (buffered.size() - pos) > limits.max_line)
        return {FrameStatus::error, 0, "a response line longer than " + std::to_string(limits.max_line) + " bytes"};
      return {FrameStatus::need_more, 0, {}};
    }
    auto seg = buffered.substr(pos, lf - pos);
    if (!seg.empty() && seg.back() == '\r') seg.remove_suffix(1);
    if (f.text.size() + seg.size() > limits.max_line)
      return {FrameStatus::error, 0, "a response line longer than " + std::to_string(limits.max_line) + " bytes"};
    f.text.append(seg);
    pos = lf + 1;
    bool overflow = false;
    auto n = literal_at_end(seg, &overflow);
    if (overflow) return {FrameStatus::error, 0, "a literal whose size does not fit in 64 bits"};
    if (!n) break;
    if (*n > limits.max_literal || literal_bytes + *n > limits.max_literal)
      return {FrameStatus::error, 0, "a literal of " + std::to_string(*n) + " bytes (the limit is " +
                                         std::to_string(limits.max_literal) + ")"};
    literal_bytes += *n;
    if (buffered.size() - pos < *n) return {FrameStatus::need_more, 0, {}};
    f.literals.emplace_back(buffered.substr(pos, static_cast<std::size_t>(*n)));
    pos += static_cast<std::size_t>(*n);
  }
  out = std::move(f);
  return {FrameStatus::complete, pos, {}};
}

std::optional<std::vector<Token>> tokenize(const Frame& f) {
  std::vector<Token> out;
  std::string_view s = f.text;
  std::size_t literal = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ') {
      ++i;
    } else if (c == '(') {
      out.push_back({Token::open, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({Token::close, ")"});
      ++i;
    } else if (c == '"') {
      std::string v;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          v += s[i + 1];
          i += 2;
        } else if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          v += s[i++];
        }
      }
      if (!closed) return std::nullopt;
      out.push_back({Token::string, std::move(v)});
    } else if (c == '{') {
      auto close = s.find('}', i);
      if (close == std::string_view::npos || !literal_at_end(s.substr(i, close - i + 1))) return std::nullopt;
      if (literal >= f.literals.size()) return std::nullopt;
      out.push_back({Token::string, f.literals[literal++]});
      i = close + 1;
    } else {
      // An atom; a section ("BODY[]", "BODY[HEADER]") keeps its brackets and what is inside.
      std::size_t start = i;
      int depth = 0;
      while (i < s.size()) {
        char d = s[i];
        if (d == '[') ++depth;
        else if (d == ']' && depth > 0) --depth;
        else if (depth == 0 && (d == ' ' || d == '(' || d == ')' || d == '"' || d == '{')) break;
        ++i;
      }
      out.push_back({Token::atom, std::string(s.substr(start, i - start))});
    }
  }
  return out;
}

std::optional<Status> parse_status(std::string_view text) {
  Status st;
  auto rest = text;
  st.tag = std::string(word(rest));
  if (st.tag.empty() || st.tag == "+") return std::nullopt;
  st.kind = upper(word(rest));
  if (st.kind != "OK" && st.kind != "NO" && st.kind != "BAD" && st.kind != "BYE" && st.kind != "PREAUTH") return std::nullopt;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    st.code = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  }
  st.text = std::string(rest);
  return st;
}

std::optional<std::uint32_t> parse_exists(std::string_view text) {
  auto rest = text;
  if (word(rest) != "*") return std::nullopt;
  auto n = to_u32(word(rest));
  if (!n || upper(word(rest)) != "EXISTS" || !rest.empty()) return std::nullopt;
  return n;
}

std::optional<std::vector<std::uint32_t>> parse_search(std::string_view text) {
  auto rest = text;
  if (word(rest) != "*" || upper(word(rest)) != "SEARCH") return std::nullopt;
  std::vector<std::uint32_t> out;
  while (!rest.empty()) {
    auto w = word(rest);
    if (w.empty()) continue;
    if (w.front() == '(') break;  // RFC 7162 "(MODSEQ n)": not asked for
    auto n = to_u32(w);
    if (!n || *n == 0) return std::nullopt;
    out.push_back(*n);
  }
  return out;
}

std::optional<std::vector<std::string>> parse_capability(std::string_view text) {
  std::string list;
  if (upper(text.substr(0, 13)) == "* CAPABILITY ") {
    list = std::string(text.substr(13));
  } else if (auto st = parse_status(text); st && upper(std::string_view(st->code).substr(0, 11)) == "CAPABILITY ") {
    list = st->code.substr(11);
  } else {
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::string_view rest = list;
  while (!rest.empty())
    if (auto w = word(rest); !w.empty()) out.push_back(upper(w));
  return out;
}

std::optional<std::uint32_t> code_number(std::string_view code, std::string_view name) {
  auto rest = code;
  if (upper(word(rest)) != upper(name)) return std::nullopt;
  return to_u32(word(rest));
}

std::optional<FetchData> parse_fetch(const Frame& f) {
  auto toks = tokenize(f);
  if (!toks) return std::nullopt;
  const auto& t = *toks;
  if (t.size() < 4 || t[0].kind != Token::atom || t[0].text != "*" || t[1].kind != Token::atom ||
      upper(t[2].text) != "FETCH" || t[3].kind != Token::open)
    return std::nullopt;
  FetchData d;
  auto seq = to_u32(t[1].text);
  if (!seq) return std::nullopt;
  d.seq = *seq;
  std::size_t i = 4;
  // Skips one value (an atom, a string or a parenthesised list); false when malformed.
  auto skip = [&](std::size_t& j) {
    if (j >= t.size()) return false;
    if (t[j].kind != Token::open) {
      if (t[j].kind == Token::close) return false;
      ++j;
      return true;
    }
    int depth = 0;
    do {
      if (t[j].kind == Token::open) ++depth;
      else if (t[j].kind == Token::close) --depth;
      ++j;
    } while (depth > 0 && j < t.size());
    return depth == 0;
  };
  while (i < t.size() && t[i].kind != Token::close) {
    if (t[i].kind != Token::atom) return std::nullopt;
    auto name = upper(t[i].text);
    ++i;
    if (i >= t.size()) return std::nullopt;
    if (name == "UID") {
      if (t[i].kind != Token::atom) return std::nullopt;
      auto v = to_u32(t[i].text);
      if (!v) return std::nullopt;
      d.uid = *v;
      ++i;
    } else if (name == "RFC822.SIZE") {
      std::uint64_t v = 0;
      if (t[i].kind != Token::atom || !parse_u64(t[i].text, UINT64_MAX, v)) return std::nullopt;
      d.size = v;
      ++i;
    } else if (name == "BODY[]") {
      if (t[i].kind == Token::string) d.body = t[i].text;
      else if (!(t[i].kind == Token::atom && upper(t[i].text) == "NIL")) return std::nullopt;
      ++i;
    } else if (name == "FLAGS") {
      if (t[i].kind != Token::open) return std::nullopt;
      ++i;
      while (i < t.size() && t[i].kind == Token::atom) d.flags.push_back(t[i++].text);
      if (i >= t.size() || t[i].kind != Token::close) return std::nullopt;
      ++i;
    } else if (!skip(i)) {
      return std::nullopt;
    }
  }
  if (i >= t.size() || t[i].kind != Token::close || i + 1 != t.size()) return std::nullopt;
  return d;
}

std::string quote(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  o += '"';
  return o;
}

}  // namespace mailstead::poll

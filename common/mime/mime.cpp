// The streaming MIME parser (see mime.hpp). RFC 2046 5.1.1: a boundary line is "--" +
// boundary (+ "--" for the last), followed by optional white space; the CRLF before it
// belongs to the boundary; an enclosing multipart's boundary closes the inner ones.
#include "mime/mime.hpp"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "mime/header.hpp"
#include "util/scan.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace mailstead::mime {

namespace {

// "value; a=b; c=\"d e\"" → value and parameters, with RFC 2231 continuations merged:
// name*0, name*1 … joined; an extended (name*0*, name*) value keeps its charset'lang'
// prefix and %-encoding, and the name gets a trailing '*' (as Dovecot reports it).
std::string parse_params(std::string_view v, Params& out) {
  auto s = strip_comments(v);
  std::size_t i = 0;
  auto skip_ws = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i; };
  std::size_t semi = s.find(';');
  std::string value(trim(std::string_view(s).substr(0, semi)));
  if (semi == std::string::npos) return value;
  i = semi + 1;
  struct Piece { std::string name; int index; bool extended; std::string value; };
  std::vector<Piece> pieces;
  while (i < s.size()) {
    skip_ws();
    std::size_t ns = i;
    while (i < s.size() && s[i] != '=' && s[i] != ';') ++i;
    std::string name = lower(trim(std::string_view(s).substr(ns, i - ns)));
    if (i >= s.size() || s[i] == ';') { ++i; continue; }  // a parameter without a value: dropped
    ++i;
    skip_ws();
    std::string val;
    if (i < s.size() && s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        val.push_back(s[i++]);
      }
      ++i;
      while (i < s.size() && s[i] != ';') ++i;
    } else {
      std::size_t vs = i;
      while (i < s.size() && s[i] != ';') ++i;
      val = std::string(trim(std::string_view(s).substr(vs, i - vs)));
    }
    ++i;
    if (name.empty()) continue;
    Piece p{name, -1, false, val};
    if (p.name.back() == '*') {
      p.extended = true;
      p.name.pop_back();
    }
    auto star = p.name.rfind('*');
    if (star != std::string::npos && star + 1 < p.name.size() &&
        std::all_of(p.name.begin() + static_cast<long>(star) + 1, p.name.end(), ::isdigit) && p.name.size() - star < 6) {
      p.index = std::stoi(p.name.substr(star + 1));
      p.name.resize(star);
    }
    pieces.push_back(std::move(p));
  }
  // Merge continuations in index order; plain parameters stand alone.
  std::vector<std::string> done;
  for (const auto& p : pieces) {
    if (std::find(done.begin(), done.end(), p.name) != done.end()) continue;
    if (p.index < 0) {
      out.emplace_back(p.extended ? p.name + "*" : p.name, p.value);
      done.push_back(p.name);
      continue;
    }
    std::vector<const Piece*> parts;
    for (const auto& q : pieces)
      if (q.name == p.name && q.index >= 0) parts.push_back(&q);
    std::sort(parts.begin(), parts.end(), [](auto* a, auto* b) { return a->index < b->index; });
    std::string joined;
    bool extended = parts.front()->extended;
    for (auto* q : parts) joined += q->value;
    out.emplace_back(extended ? p.name + "*" : p.name, joined);
    done.push_back(p.name);
  }
  return value;
}

}  // namespace

std::string_view Part::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

std::vector<std::pair<std::string, std::string>> header_fields(std::string_view header) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto eol = header.find('\n', pos);
    auto next = eol == std::string_view::npos ? header.size() : eol + 1;
    auto line = header.substr(pos, next - pos);
    pos = next;
    if (trim(line).empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      auto t = line;
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
      out.back().second.append(t);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a field: ignored
    std::string value(line.substr(colon + 1));
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    out.emplace_back(std::string(trim(line.substr(0, colon))), value);
  }
  for (auto& [k, v] : out) v = std::string(trim(v));
  return out;
}

struct Parser::Frame {
  Part* part;
  enum class State { header, body, preamble, epilogue } state = State::header;
  std::string boundary;  // for multiparts within the depth limit
  std::string header;    // collected header text (up to the limit)
  std::size_t depth = 0;
};

Parser::~Parser() = default;

Parser::Parser(Limits limits) : limits_(limits) {
  frames_.push_back(std::make_unique<Frame>());
  frames_.back()->part = &root_;
  stack_.push_back(frames_.back().get());
}

void Parser::feed(std::string_view chunk) {
  std::size_t i = 0;
  while (i < chunk.size()) {
    auto lf = chunk.find('\n', i);
    auto end = lf == std::string_view::npos ? chunk.size() : lf + 1;
    if (partial_len_ == 0) partial_begin_ = offset_;
    // Only a line's first bytes matter for boundaries; headers keep up to their limit.
    std::size_t keep = stack_.back()->state == Frame::State::header ? limits_.max_header_bytes + 2 : 200;
    auto piece = chunk.substr(i, end - i);
    if (partial_.size() < keep) partial_.append(piece.substr(0, keep - partial_.size()));
    // The byte before the LF decides CRLF or LF, even when the line was cut short above.
    char before_lf = piece.size() >= 2 ? piece[piece.size() - 2] : last_byte_;
    last_byte_ = piece.back();
    partial_len_ += piece.size();
    offset_ += piece.size();
    i = end;
    if (lf != std::string_view::npos) {
      std::size_t term = partial_len_ >= 2 && before_lf == '\r' ? 2 : 1;
      last_byte_ = 0;
      std::string text = partial_;
      line(text, partial_begin_, term);
      partial_.clear();
      partial_len_ = 0;
    }
  }
}

void Parser::end_header(Frame& f, std::size_t body_begin, bool open_children) {
  Part& p = *f.part;
  p.header_end = body_begin;
  bool saw_type = false;
  for (auto& [name, value] : header_fields(f.header)) {
    auto n = lower(name);
    if (n == "content-type" && !saw_type) {
      saw_type = true;
      Params params;
      auto v = lower(parse_params(value, params));
      auto slash = v.find('/');
      auto type = trim(std::string_view(v).substr(0, slash));
      auto sub = slash == std::string::npos ? std::string_view{} : trim(std::string_view(v).substr(slash + 1));
      if (!type.empty() && !sub.empty() && type.find_first_of(" \t\"") == std::string_view::npos) {
        p.type = std::string(type);
        p.subtype = std::string(sub);
        p.params = std::move(params);
      }
    } else if (n == "content-transfer-encoding") {
      p.encoding = lower(trim(strip_comments(value)));
    } else if (n == "content-id") {
      p.id = std::string(trim(value));
    } else if (n == "content-description") {
      p.description = std::string(trim(value));
    } else if (n == "content-md5") {
      p.md5 = std::string(trim(value));
    } else if (n == "content-language") {
      p.language = std::string(trim(strip_comments(value)));
    } else if (n == "content-location") {
      p.location = std::string(trim(value));
    } else if (n == "content-disposition") {
      p.disposition = lower(parse_params(value, p.disposition_params));
    }
  }
  f.header.clear();
  f.header.shrink_to_fit();
  // A multipart without a usable boundary is taken as text (RFC 2046 5.1.1 requires one).
  if (p.is_multipart()) {
    auto b = p.param("boundary");
    if (b.empty() || b.size() > 200 || f.depth + 1 > limits_.max_depth) {
      p.body_end = 0;
      f.state = Frame::State::body;
      return;
    }
    f.boundary = std::string(b);
    f.state = Frame::State::preamble;
    return;
  }
  if (open_children && p.is_message() && f.depth + 1 <= limits_.max_depth && parts_ < limits_.max_parts) {
    ++parts_;
    f.state = Frame::State::body;
    p.children.emplace_back();
    Part& child = p.children.back();
    child.header_begin = body_begin;
    frames_.push_back(std::make_unique<Frame>());
    auto* cf = frames_.back().get();
    cf->part = &child;
    cf->depth = f.depth + 1;
    stack_.push_back(cf);
    return;
  }
  f.state = Frame::State::body;
}

void Parser::close_to(std::size_t depth, std::size_t end) {
  while (stack_.size() > depth) {
    Frame* f = stack_.back();
    // A header cut short by a boundary or the end: it ends there, with an empty body.
    if (f->state == Frame::State::header) end_header(*f, std::max(end, f->part->header_begin), false);
    f->part->body_end = std::max(end, f->part->header_end);
    stack_.pop_back();
  }
}

void Parser::line(std::string_view text, std::size_t begin, std::size_t term_len) {
  Frame* f = stack_.back();
  if (f->state == Frame::State::header) {
    if (text == "\r\n" || text == "\n") {
      end_header(*f, begin + text.size(), true);
    } else if (f->header.size() + text.size() <= limits_.max_header_bytes) {
      f->header.append(text);
    } else {
      f->part->header_truncated = true;
    }
    prev_term_ = term_len;
    return;
  }
  // Is it a boundary of any open multipart (innermost first)?
  if (text.size() >= 3 && text[0] == '-' && text[1] == '-') {
    auto rest = text.substr(2);
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r' || rest.back() == ' ' || rest.back() == '\t'))
      rest.remove_suffix(1);
    for (std::size_t d = stack_.size(); d-- > 0;) {
      Frame* m = stack_[d];
      if (m->boundary.empty() || m->state == Frame::State::epilogue) continue;
      bool last = rest.size() == m->boundary.size() + 2 && rest.substr(m->boundary.size()) == "--";
      if (!(rest.size() == m->boundary.size() || last) || rest.substr(0, m->boundary.size()) != m->boundary) continue;
      // The line break before the boundary belongs to it.
      std::size_t end = begin >= prev_term_ ? begin - prev_term_ : begin;
      close_to(d + 1, end);
      if (last) {
        m->state = Frame::State::epilogue;
      } else if (parts_ < limits_.max_parts) {
        ++parts_;
        m->state = Frame::State::body;
        m->part->children.emplace_back();
        Part& child = m->part->children.back();
        child.header_begin = begin + text.size();
        // RFC 2046 5.1.5: parts of multipart/digest default to message/rfc822.
        if (m->part->subtype == "digest") {
          child.type = "message";
          child.subtype = "rfc822";
        }
        frames_.push_back(std::make_unique<Frame>());
        auto* cf = frames_.back().get();
        cf->part = &child;
        cf->depth = m->depth + 1;
        stack_.push_back(cf);
      }
      prev_term_ = term_len;
      return;
    }
  }
  prev_term_ = term_len;
}

Part Parser::finish() {
  if (partial_len_ > 0) {
    line(partial_, partial_begin_, 0);
    partial_.clear();
    partial_len_ = 0;
  }
  close_to(0, offset_);
  // Pointers into children vectors were stable while parsing because a frame's part only
  // gains children while it is the innermost open frame; moving the root out is the end.
  return std::move(root_);
}

Part parse(std::string_view message, Limits limits) {
  Parser p(limits);
  p.feed(message);
  return p.finish();
}

std::size_t body_lines(std::string_view message, const Part& p) {
  if (p.body_end <= p.header_end || p.body_end > message.size()) return 0;
  auto body = message.substr(p.header_end, p.body_end - p.header_end);
  auto n = util::count_byte(body, '\n');
  if (!body.empty() && body.back() != '\n') ++n;
  return n;
}

namespace {
std::string convert_charset(const std::string& bytes, const std::string& charset);
}  // namespace

std::string to_utf8(const std::string& bytes, const std::string& charset) {
  if (charset.empty()) return bytes;
  return convert_charset(bytes, charset);
}

namespace {
std::string convert_charset(const std::string& bytes, const std::string& charset) {
  auto cs = lower(charset);
  if (cs == "utf-8" || cs == "us-ascii" || cs == "utf8") return bytes;
  iconv_t cd = iconv_open("UTF-8", charset.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return bytes;
  std::string out(bytes.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size(), out_left = out.size();
  char* o = out.data();
  while (in_left > 0) {
    if (iconv(cd, &in, &in_left, &o, &out_left) == static_cast<std::size_t>(-1)) {
      if (in_left == 0 || out_left < 3) break;
      // An invalid byte becomes U+FFFD and decoding goes on.
      std::memcpy(o, "\xEF\xBF\xBD", 3);
      o += 3;
      out_left -= 3;
      ++in;
      --in_left;
    }
  }
  iconv_close(cd);
  out.resize(out.size() - out_left);
  return out;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string decode_words(std::string_view v) {
  std::string out;
  std::size_t i = 0;
  bool last_was_word = false;
  std::string pending_ws;
  while (i < v.size()) {
    if (v.compare(i, 2, "=?") == 0) {
      // =?charset?Q|B?text?=
      auto q1 = v.find('?', i + 2);
      auto q2 = q1 == std::string_view::npos ? q1 : v.find('?', q1 + 1);
      auto end = q2 == std::string_view::npos ? q2 : v.find("?=", q2 + 1);
      if (end != std::string_view::npos && q2 == q1 + 2) {
        std::string charset(v.substr(i + 2, q1 - i - 2));
        if (auto star = charset.find('*'); star != std::string::npos) charset.resize(star);  // RFC 2231 language
        char enc = static_cast<char>(std::toupper(static_cast<unsigned char>(v[q1 + 1])));
        auto text = v.substr(q2 + 1, end - q2 - 1);
        std::string bytes;
        bool ok = true;
        if (enc == 'B') {
          std::string t(text);
          while (t.size() % 4) t.push_back('=');
          auto d = base64_decode(t);
          ok = d.has_value();
          if (ok) bytes = *d;
        } else if (enc == 'Q') {
          for (std::size_t k = 0; k < text.size(); ++k) {
            if (text[k] == '_') bytes.push_back(' ');
            else if (text[k] == '=' && k + 2 < text.size() + 0 && hexval(text[k + 1]) >= 0 && hexval(text[k + 2]) >= 0) {
              bytes.push_back(static_cast<char>(hexval(text[k + 1]) * 16 + hexval(text[k + 2])));
              k += 2;
            } else bytes.push_back(text[k]);
          }
        } else {
          ok = false;
        }
        if (ok) {
          // White space between two encoded words is dropped (RFC 2047 6.2).
          if (!last_was_word) out += pending_ws;
          pending_ws.clear();
          out += convert_charset(bytes, charset);
          last_was_word = true;
          i = end + 2;
          continue;
        }
      }
    }
    char c = v[i++];
    if (c == ' ' || c == '\t') {
      pending_ws.push_back(c);
      continue;
    }
    out += pending_ws;
    pending_ws.clear();
    out.push_back(c);
    last_was_word = false;
  }
  out += pending_ws;
  return out;
}

}  // namespace mailstead::mime

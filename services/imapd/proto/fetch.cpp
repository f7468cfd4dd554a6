// FETCH items and body sections (RFC 3501 6.4.5 "BODY[<section>]<<partial>>").
#include "proto/fetch.hpp"

#include <cctype>
#include <charconv>

#include "mime/mime.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace mailstead::imap {

namespace {

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// "BODY[...]<a.b>" / "BODY.PEEK[...]" / "BINARY[...]<a.b>" / "BINARY.PEEK[...]" / "BINARY.SIZE[...]".
std::variant<FetchItem, std::string> parse_section_item(const std::string& text) {
  FetchItem it;
  it.kind = FetchItem::Kind::section;
  auto open = text.find('[');
  auto name = upper(text.substr(0, open));
  if (name == "BODY.PEEK") it.peek = true;
  else if (name == "BINARY" || name == "BINARY.PEEK" || name == "BINARY.SIZE") {
    it.binary = true;
    it.peek = name != "BINARY";
    if (name == "BINARY.SIZE") it.kind = FetchItem::Kind::binary_size;
  } else if (name != "BODY") return "Unknown FETCH item " + text;
  auto close = text.rfind(']');
  if (close == std::string::npos || close < open) return "Bad section in " + text;
  std::string sec = text.substr(open + 1, close - open - 1);
  std::string rest = text.substr(close + 1);
  std::string usec = upper(sec);
  // part numbers
  std::size_t i = 0;
  while (i < usec.size() && std::isdigit(static_cast<unsigned char>(usec[i]))) {
    auto dot = usec.find('.', i);
    auto num = usec.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    std::uint64_t n = 0;
    if (!parse_u64(num, n) || n == 0 || n > 100000) return "Bad part number in " + text;
    it.path.push_back(static_cast<std::uint32_t>(n));
    if (it.path.size() > 64) return "Section nested too deeply";
    if (dot == std::string::npos) {
      i = usec.size();
      break;
    }
    i = dot + 1;
  }
  auto spec = usec.substr(i);
  // RFC 3516 section-binary: part numbers only.
  if (it.binary && (!spec.empty() || (!usec.empty() && usec.back() == '.'))) return "Bad BINARY section in " + text;
  std::string fields_text;
  if (spec.empty()) {
    it.spec = FetchItem::Spec::all;
  } else if (spec == "HEADER") {
    it.spec = FetchItem::Spec::header;
  } else if (spec == "TEXT") {
    it.spec = FetchItem::Spec::text;
  } else if (spec == "MIME") {
    if (it.path.empty()) return "MIME needs a part number";
    it.spec = FetchItem::Spec::mime;
  } else if (spec.rfind("HEADER.FIELDS.NOT ", 0) == 0 || spec.rfind("HEADER.FIELDS ", 0) == 0) {
    bool neg = spec.rfind("HEADER.FIELDS.NOT ", 0) == 0;
    it.spec = neg ? FetchItem::Spec::header_fields_not : FetchItem::Spec::header_fields;
    auto list = sec.substr(i + (neg ? 18 : 14));
    auto parsed = parse_command("x x " + list + "\r\n");
    auto* cmd = std::get_if<Command>(&parsed);
    if (!cmd || cmd->args.size() != 1 || cmd->args[0].kind != Token::Kind::list || cmd->args[0].items.empty())
      return "Bad header field list in " + text;
    for (const auto& f : cmd->args[0].items) {
      if (f.kind == Token::Kind::list) return "Bad header field list in " + text;
      it.fields.push_back(f.text);
    }
    fields_text = list;
  } else {
    return "Bad section in " + text;
  }
  if (!rest.empty()) {
    // <offset.length>
    if (rest.front() != '<' || rest.back() != '>') return "Bad partial in " + text;
    auto inner = rest.substr(1, rest.size() - 2);
    auto dot = inner.find('.');
    std::uint64_t o = 0, l = 0;
    if (dot == std::string::npos || !parse_u64(inner.substr(0, dot), o) || !parse_u64(inner.substr(dot + 1), l) || l == 0)
      return "Bad partial in " + text;
    it.offset = o;
    it.length = l;
  }
  if (it.kind == FetchItem::Kind::binary_size && it.offset) return "BINARY.SIZE takes no partial: " + text;
  // The response names the item as the client did, without .PEEK and with only the origin.
  it.label = std::string(it.kind == FetchItem::Kind::binary_size ? "BINARY.SIZE[" : it.binary ? "BINARY[" : "BODY[") + sec + "]";
  if (it.offset) it.label += "<" + std::to_string(*it.offset) + ">";
  (void)fields_text;
  return it;
}

std::variant<FetchItem, std::string> parse_item(const Token& t) {
  if (t.kind != Token::Kind::atom) return std::string("FETCH items are atoms");
  auto u = upper(t.text);
  FetchItem it;
  it.label = u;
  if (u == "FLAGS") it.kind = FetchItem::Kind::flags;
  else if (u == "UID") it.kind = FetchItem::Kind::uid;
  else if (u == "INTERNALDATE") it.kind = FetchItem::Kind::internaldate;
  else if (u == "RFC822.SIZE") it.kind = FetchItem::Kind::size;
  else if (u == "ENVELOPE") it.kind = FetchItem::Kind::envelope;
  else if (u == "BODYSTRUCTURE") it.kind = FetchItem::Kind::bodystructure;
  else if (u == "BODY") it.kind = FetchItem::Kind::body;
  else if (u == "MODSEQ") it.kind = FetchItem::Kind::modseq;
  else if (u == "RFC822") {
    it.kind = FetchItem::Kind::section;
  } else if (u == "RFC822.HEADER") {
    it.kind = FetchItem::Kind::section;
    it.peek = true;
    it.spec = FetchItem::Spec::header;
  } else if (u == "RFC822.TEXT") {
    it.kind = FetchItem::Kind::section;
    it.spec = FetchItem::Spec::text;
  } else if (u.find('[') != std::string::npos) {
    return parse_section_item(t.text);
  } else {
    return "Unknown FETCH item " + t.text;
  }
  return it;
}

}  // namespace

std::variant<std::vector<FetchItem>, std::string> parse_fetch_items(const Token& t) {
  std::vector<FetchItem> items;
  auto add = [&](const Token& one) -> std::optional<std::string> {
    auto r = parse_item(one);
    if (auto* e = std::get_if<std::string>(&r)) return *e;
    items.push_back(std::get<FetchItem>(r));
    return std::nullopt;
  };
  if (t.kind == Token::Kind::atom) {
    auto u = upper(t.text);
    std::vector<std::string> macro;
    if (u == "ALL") macro = {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"};
    else if (u == "FAST") macro = {"FLAGS", "INTERNALDATE", "RFC822.SIZE"};
    else if (u == "FULL") macro = {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"};
    if (!macro.empty()) {
      for (auto& m : macro) {
        Token a;
        a.text = m;
        add(a);
      }
      return items;
    }
    if (auto e = add(t)) return *e;
    return items;
  }
  if (t.kind != Token::Kind::list || t.items.empty()) return std::string("FETCH needs items");
  for (const auto& i : t.items)
    if (auto e = add(i)) return *e;
  return items;
}

namespace {

// The header lines of [begin, end) whose names are (or are not) in `fields`, then CRLF.
std::string filter_header(std::string_view header, const std::vector<std::string>& fields, bool keep_listed) {
  std::string out;
  std::size_t pos = 0;
  bool keep = false;
  while (pos < header.size()) {
    auto eol = header.find('\n', pos);
    auto next = eol == std::string_view::npos ? header.size() : eol + 1;
    auto line = header.substr(pos, next - pos);
    pos = next;
    if (line == "\r\n" || line == "\n") break;
    if (line[0] != ' ' && line[0] != '\t') {
      auto colon = line.find(':');
      auto name = upper(line.substr(0, colon == std::string_view::npos ? 0 : colon));
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
      bool listed = false;
      for (const auto& f : fields) listed |= upper(f) == name;
      keep = colon != std::string_view::npos && listed == keep_listed;
    }
    if (keep) out.append(line);
  }
  out.append("\r\n");
  return out;
}

// Walks the part numbers (RFC 3501 6.4.5). A message (the root, or the one a
// message/rfc822 part encapsulates) numbers its parts: a multipart's from 1, a
// non-multipart body is its only part, 1. A body part that is itself message/rfc822
// numbers the parts of the message it encapsulates; any other body part has none. The
// same Part stands for a non-multipart message and for its part 1, so `at_message` says
// which of the two `node` is now.
const mime::Part* find_part(const mime::Part& root, const std::vector<std::uint32_t>& path) {
  const mime::Part* node = &root;
  bool at_message = true;
  for (auto n : path) {
    if (!at_message) {
      if (node->is_message()) {
        if (node->children.empty()) return nullptr;
        node = &node->children.front();  // the encapsulated message, numbered below
      } else if (!node->is_multipart() || node->children.empty()) {
        return nullptr;  // a leaf has no parts
      } else {
        if (n > node->children.size()) return nullptr;
        node = &node->children[n - 1];
        continue;
      }
    }
    at_message = false;
    if (node->is_multipart() && !node->children.empty()) {
      if (n > node->children.size()) return nullptr;
      node = &node->children[n - 1];
    } else if (n != 1) {
      return nullptr;  // the body of a non-multipart message is its only part
    }
  }
  return node;
}

}  // namespace

std::optional<std::string> section_bytes(std::string_view prefix, std::string_view blob, const mime::Part& root,
                                         const FetchItem& item) {
  // The whole message, its header and its text.
  if (item.path.empty()) {
    auto header_end = prefix.size() + root.header_end;
    std::string whole;
    switch (item.spec) {
      case FetchItem::Spec::all:
        whole.reserve(prefix.size() + blob.size());
        whole.append(prefix).append(blob);
        return whole;
      case FetchItem::Spec::header:
        return std::string(prefix) + std::string(blob.substr(0, root.header_end));
      case FetchItem::Spec::header_fields:
      case FetchItem::Spec::header_fields_not:
        return filter_header(std::string(prefix) + std::string(blob.substr(0, root.header_end)), item.fields,
                             item.spec == FetchItem::Spec::header_fields);
      case FetchItem::Spec::text:
        return std::string(blob.substr(root.header_end, root.body_end - root.header_end));
      case FetchItem::Spec::mime:
        return std::nullopt;
    }
    (void)header_end;
  }
  const mime::Part* node = find_part(root, item.path);
  if (!node) return std::nullopt;
  auto range = [&](std::size_t a, std::size_t b) { return std::string(blob.substr(a, b > a ? b - a : 0)); };
  switch (item.spec) {
    case FetchItem::Spec::all:
      return range(node->header_end, node->body_end);
    case FetchItem::Spec::mime:
      // Part 1 of a non-multipart message: its MIME header is the message's header,
      // per-recipient lines included, as BODY[HEADER] has them.
      if (node == &root) return std::string(prefix) + range(node->header_begin, node->header_end);
      return range(node->header_begin, node->header_end);
    case FetchItem::Spec::header:
    case FetchItem::Spec::header_fields:
    case FetchItem::Spec::header_fields_not:
    case FetchItem::Spec::text: {
      if (!node->is_message() || node->children.empty()) return std::string();
      const auto& msg = node->children.front();
      if (item.spec == FetchItem::Spec::text) return range(msg.header_end, msg.body_end);
      auto header = range(msg.header_begin, msg.header_end);
      if (item.spec == FetchItem::Spec::header) return header;
      return filter_header(header, item.fields, item.spec == FetchItem::Spec::header_fields);
    }
  }
  return std::nullopt;
}

std::string decode_quoted_printable(std::string_view in) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out.push_back(in[i]);
      continue;
    }
    // a soft line break: "=" then optional white space, then CRLF or LF
    std::size_t j = i + 1;
    while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
    if (j < in.size() && (in[j] == '\n' || (in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n'))) {
      i = in[j] == '\r' ? j + 1 : j;
      continue;
    }
    if (j == in.size()) break;  // "=" at the very end
    if (i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
      continue;
    }
    out.push_back('=');  // not an escape: kept, as RFC 2045 6.7 (1) advises
  }
  return out;
}

BinaryResult binary_bytes(std::string_view prefix, std::string_view blob, const mime::Part& root, const FetchItem& item) {
  if (item.path.empty()) {
    std::string whole(prefix);
    whole.append(blob);
    return whole;
  }
  FetchItem body = item;
  body.binary = false;
  body.spec = FetchItem::Spec::all;
  auto raw = section_bytes(prefix, blob, root, body);
  if (!raw) return std::string();
  const mime::Part* node = find_part(root, item.path);  // there: section_bytes found it
  const auto& cte = node->encoding;
  if (node->is_multipart() || node->is_message() || cte == "7bit" || cte == "8bit" || cte == "binary" || cte.empty())
    return std::move(*raw);
  if (cte == "quoted-printable") return decode_quoted_printable(*raw);
  if (cte == "base64") {
    std::string clean;
    clean.reserve(raw->size());
    for (char c : *raw)
      if (!std::isspace(static_cast<unsigned char>(c))) clean.push_back(c);
    if (auto d = base64_decode(clean)) return std::move(*d);
    return UnknownCte{};  // not base64 after all: the server cannot decode it
  }
  return UnknownCte{};
}

}  // namespace mailstead::imap

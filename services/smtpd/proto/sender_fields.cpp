// Originator fields of a submitted message (see sender_fields.hpp): From must be exactly
// one mailbox (RFC 5322 3.6.2 allows a list only with a Sender; submission allows one
// identity), Sender exactly one mailbox, Resent-From a list of mailboxes; never group
// syntax, never two angle addresses in one mailbox, and no display name that reads as
// somebody else's address.
#include "proto/sender_fields.hpp"

#include <optional>

#include "mime/header.hpp"
#include "mime/mime.hpp"

namespace mailstead::smtp {

namespace {

struct Mailbox {
  std::string display;  // the raw text a client may show: display name and comments
  std::string address;  // the addr-spec, comments removed
};

std::string trimmed(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// One mailbox (RFC 5322 3.4): `[display-name] <addr-spec>` or `addr-spec`, with comments
// anywhere. Returns an error text, or nullopt when `out` holds it.
std::optional<std::string> parse_mailbox(std::string_view m, Mailbox& out) {
  // Walk once, outside quoted strings and comments: where the angle brackets are, and the
  // text outside comments.
  std::string plain;     // outside comments (quoted strings kept with their quotes)
  std::string comments;  // the text of the comments
  std::size_t lt = std::string::npos, gt = std::string::npos;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < m.size(); ++i) {
    char c = m[i];
    if ((quoted || depth > 0) && c == '\\' && i + 1 < m.size()) {
      (depth > 0 ? comments : plain) += m.substr(i, 2);
      ++i;
      continue;
    }
    if (depth > 0) {
      if (c == '(') ++depth;
      else if (c == ')') --depth;
      comments += depth > 0 ? c : ' ';
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      plain += c;
      continue;
    }
    switch (c) {
      case '"':
        quoted = true;
        break;
      case '(':
        depth = 1;
        comments += ' ';
        plain += ' ';
        continue;
      case ')':
        return "unbalanced parenthesis";
      case '<':
        if (lt != std::string::npos) return "more than one address in one mailbox";
        lt = plain.size();
        break;
      case '>':
        if (lt == std::string::npos || gt != std::string::npos) return "unbalanced angle brackets";
        gt = plain.size();
        break;
      case ':':
      case ';':
        return lt != std::string::npos && gt == std::string::npos ? "source routes are not allowed"
                                                                  : "group syntax is not allowed";
      default:
        break;
    }
    plain += c;
  }
  if (quoted) return "unterminated quoted string";
  if (depth > 0) return "unterminated comment";
  if (lt != std::string::npos) {
    if (gt == std::string::npos) return "unbalanced angle brackets";
    if (!trimmed(std::string_view(plain).substr(gt + 1)).empty()) return "text after the address";
    out.address = trimmed(std::string_view(plain).substr(lt + 1, gt - lt - 1));
    out.display = plain.substr(0, lt) + " " + comments;
  } else {
    out.address = trimmed(plain);
    out.display = comments;
    // A display name needs angle brackets: "Bob bob@example.test" is not a mailbox.
    bool q = false;
    for (char c : out.address) {
      if (c == '"') q = !q;
      else if (!q && (c == ' ' || c == '\t')) return "a display name needs the address in angle brackets";
    }
  }
  if (out.address.empty()) return "empty address";
  if (out.address.find('@') == std::string::npos) return "address without a domain";
  return std::nullopt;
}

// The mailboxes of a list, split at commas outside quoted strings, comments and angle
// brackets; empty members (obs-mbox-list) are skipped.
std::optional<std::string> parse_mailbox_list(std::string_view v, std::vector<Mailbox>& out) {
  std::size_t start = 0;
  int depth = 0;
  bool quoted = false, angle = false;
  auto member = [&](std::size_t end) -> std::optional<std::string> {
    auto text = v.substr(start, end - start);
    start = end + 1;
    if (trimmed(text).empty()) return std::nullopt;
    Mailbox m;
    if (auto e = parse_mailbox(text, m)) return e;
    out.push_back(std::move(m));
    return std::nullopt;
  };
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if ((quoted || depth > 0) && c == '\\') {
      ++i;
      continue;
    }
    if (depth > 0) {
      if (c == '(') ++depth;
      else if (c == ')') --depth;
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '(') depth = 1;
    else if (c == '<') angle = true;
    else if (c == '>') angle = false;
    else if (c == ',' && !angle) {
      if (auto e = member(i)) return e;
    }
  }
  return member(v.size());
}

// `s` with every look-alike at sign read as '@': U+FF20 FULLWIDTH COMMERCIAL AT and
// U+FE6B SMALL COMMERCIAL AT.
std::string fold_at_signs(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto rest = s.substr(i);
    if (rest.starts_with("\xEF\xBC\xA0") || rest.starts_with("\xEF\xB9\xAB")) {
      out += '@';
      i += 2;
      continue;
    }
    out += s[i];
  }
  return out;
}

}  // namespace

std::vector<std::string> addresses_in_display_name(std::string_view display_name) {
  std::string text = mime::decode_words(display_name);
  // What a client shows: quotes and escapes gone; look-alike at signs read as '@'.
  std::string shown;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      shown += text[++i];
      continue;
    }
    shown += text[i];
  }
  shown = fold_at_signs(shown);
  std::vector<std::string> out;
  const std::string_view separators(" \t\r\n\"'<>()[],;:\0", 16);
  std::size_t pos = 0;
  while (pos < shown.size()) {
    auto b = shown.find_first_not_of(separators, pos);
    if (b == std::string::npos) break;
    auto e = shown.find_first_of(separators, b);
    if (e == std::string::npos) e = shown.size();
    std::string token = shown.substr(b, e - b);
    pos = e;
    while (!token.empty() && token.back() == '.') token.pop_back();
    auto at = token.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == token.size()) continue;
    out.push_back(std::move(token));
  }
  return out;
}

SenderFields examine_sender_fields(std::string_view header) {
  SenderFields r;
  // `single`: the field may appear once and must be exactly one mailbox.
  auto field = [&](const char* name, bool single) {
    auto values = mime::field_values(header, name);
    if (single && values.size() > 1) {
      r.error = std::string("only one ") + name + " field is allowed";
      return;
    }
    for (const auto& v : values) {
      std::vector<Mailbox> boxes;
      if (auto e = parse_mailbox_list(v, boxes)) {
        r.error = std::string(name) + ": " + *e;
        return;
      }
      if (boxes.empty()) {
        r.error = std::string(name) + ": no address";
        return;
      }
      if (single && boxes.size() != 1) {
        r.error = std::string(name) + " must name exactly one mailbox";
        return;
      }
      for (auto& b : boxes) {
        r.addresses.push_back({name, b.address});
        for (auto& a : addresses_in_display_name(b.display)) r.addresses.push_back({name, std::move(a)});
      }
    }
  };
  r.add_from = mime::field_values(header, "From").empty();
  for (auto [name, single] : {std::pair{"From", true}, {"Sender", true}, {"Resent-From", false}, {"Resent-Sender", false}}) {
    field(name, single);
    if (!r.error.empty()) {
      r.addresses.clear();
      r.add_from = false;
      break;
    }
  }
  return r;
}

}  // namespace mailstead::smtp

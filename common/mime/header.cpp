// Header fields and address lists (RFC 5322 2.2, 3.2.2 folding and comments, 3.4).
#include "mime/header.hpp"

#include <cctype>

#include "util/text.hpp"

namespace mailstead::mime {

std::size_t header_end(std::string_view m) {
  if (m.starts_with("\r\n")) return 2;
  if (m.starts_with("\n")) return 1;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] != '\n') continue;
    if (m.compare(i + 1, 2, "\r\n") == 0) return i + 3;
    if (m.compare(i + 1, 1, "\n") == 0) return i + 2;
  }
  return m.size();
}

std::vector<std::string> field_values(std::string_view header, std::string_view name) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto eol = header.find('\n', pos);
    if (eol == std::string_view::npos) eol = header.size();
    auto line = header.substr(pos, eol - pos);
    pos = eol + 1;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || line.empty() || line[0] == ' ' || line[0] == '\t') continue;
    auto field = line.substr(0, colon);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
    if (field.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(field[i])) == std::tolower(static_cast<unsigned char>(name[i]));
    if (!same) continue;
    std::string value(line.substr(colon + 1));
    // Continuation lines start with white space.
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t')) {
      auto e = header.find('\n', pos);
      if (e == std::string_view::npos) e = header.size();
      value.append(header.substr(pos, e - pos));
      pos = e + 1;
    }
    std::string clean;
    for (char c : value)
      if (c != '\r' && c != '\n') clean.push_back(c);
    auto b = clean.find_first_not_of(" \t");
    auto e = clean.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : clean.substr(b, e - b + 1));
  }
  return out;
}

namespace {

std::string trimmed(std::string_view s) { return std::string(mailstead::trim(s)); }

// One mailbox: [display-name] <[route:]local@domain> | local@domain.
Address mailbox(std::string_view m) {
  Address a;
  std::string text(m);
  bool quoted = false;
  std::size_t lt = std::string::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && quoted) { ++i; continue; }
    if (text[i] == '"') quoted = !quoted;
    else if (text[i] == '<' && !quoted) { lt = i; break; }
  }
  std::string spec;
  if (lt != std::string::npos) {
    auto gt = text.find('>', lt);
    spec = trimmed(text.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1));
    std::string name = trimmed(text.substr(0, lt));
    // Unquote a quoted display name; keep encoded words as they are (ENVELOPE is raw).
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      std::string u;
      for (std::size_t i = 1; i + 1 < name.size(); ++i) {
        if (name[i] == '\\' && i + 2 < name.size()) ++i;
        u.push_back(name[i]);
      }
      name = u;
    }
    a.name = name;
    auto colon = spec.find(':');
    if (!spec.empty() && spec[0] == '@' && colon != std::string::npos) {
      a.route = spec.substr(0, colon);
      spec = spec.substr(colon + 1);
    }
  } else {
    spec = trimmed(text);
  }
  auto at = spec.rfind('@');
  if (at == std::string::npos) {
    a.mailbox = spec;
  } else {
    a.mailbox = spec.substr(0, at);
    a.host = spec.substr(at + 1);
  }
  if (a.mailbox.size() >= 2 && a.mailbox.front() == '"' && a.mailbox.back() == '"')
    a.mailbox = a.mailbox.substr(1, a.mailbox.size() - 2);
  return a;
}

}  // namespace

std::string strip_comments(std::string_view v) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size()) {
      if (depth == 0) { out.push_back(c); out.push_back(v[i + 1]); }
      ++i;
      continue;
    }
    if (depth == 0 && c == '"') quoted = !quoted;
    if (!quoted && c == '(') { ++depth; continue; }
    if (!quoted && c == ')' && depth > 0) { --depth; continue; }
    if (depth == 0) out.push_back(c);
  }
  return out;
}


std::vector<Address> parse_addresses(std::string_view value) {
  auto v = strip_comments(value);
  std::vector<Address> out;
  std::string cur;
  bool quoted = false, angle = false, in_group = false;
  auto flush = [&] {
    auto t = trimmed(cur);
    if (!t.empty()) out.push_back(mailbox(t));
    cur.clear();
  };
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && quoted && i + 1 < v.size()) {
      cur.push_back(c);
      cur.push_back(v[++i]);
      continue;
    }
    if (c == '"' && !angle) quoted = !quoted;
    if (!quoted) {
      if (c == '<') angle = true;
      if (c == '>') angle = false;
      if (!angle && c == ':' && !in_group) {  // group start: "name:"
        Address g;
        g.group_start = true;
        g.mailbox = trimmed(cur);
        if (g.mailbox.size() >= 2 && g.mailbox.front() == '"') g.mailbox = g.mailbox.substr(1, g.mailbox.size() - 2);
        out.push_back(g);
        cur.clear();
        in_group = true;
        continue;
      }
      if (!angle && c == ';' && in_group) {
        flush();
        Address e;
        e.group_end = true;
        out.push_back(e);
        in_group = false;
        continue;
      }
      if (!angle && c == ',') {
        flush();
        continue;
      }
    }
    cur.push_back(c);
  }
  flush();
  if (in_group) {
    Address e;
    e.group_end = true;
    out.push_back(e);
  }
  return out;
}

std::vector<std::string> parse_address_list(std::string_view value) {
  std::vector<std::string> out;
  for (const auto& a : parse_addresses(value)) {
    if (a.group_start || a.group_end) continue;
    out.push_back(a.host.empty() ? a.mailbox : a.mailbox + "@" + a.host);
  }
  return out;
}

}  // namespace mailstead::mime

// Header fields and address lists (RFC 5322 2.2, 3.2.2 folding and comments, 3.4).
#include "mime/header.hpp"

#include <cctype>

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

// Removes comments (nested, RFC 5322 3.2.2) outside quoted strings.
std::string strip_comments(std::string_view v) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size() && (quoted || depth > 0)) {
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

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

// The addr-spec of one mailbox: inside <> if there are any, else the whole thing.
std::string mailbox_addr(const std::string& m) {
  bool quoted = false;
  std::size_t lt = std::string::npos;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\\' && quoted) { ++i; continue; }
    if (m[i] == '"') quoted = !quoted;
    else if (m[i] == '<' && !quoted) lt = i;
  }
  if (lt != std::string::npos) {
    auto gt = m.find('>', lt);
    return trim(m.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1));
  }
  return trim(m);
}

}  // namespace

std::vector<std::string> parse_address_list(std::string_view value) {
  auto v = strip_comments(value);
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, angle = false;
  auto flush = [&] {
    auto t = trim(cur);
    if (!t.empty()) out.push_back(mailbox_addr(t));
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
      if (!angle && c == ':') {  // "group name:" starts a group: drop the name
        cur.clear();
        continue;
      }
      if (!angle && (c == ',' || c == ';')) {
        flush();
        continue;
      }
    }
    cur.push_back(c);
  }
  flush();
  return out;
}

}  // namespace mailstead::mime

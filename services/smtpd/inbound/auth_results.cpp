// Authentication-Results (RFC 8601 2.2 syntax, 5 removal of forged fields). See auth_results.hpp.
#include "inbound/auth_results.hpp"

#include <algorithm>
#include <cctype>

namespace mailstead::inbound {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Method, result and property names: RFC 8601 keywords (letters, digits, '-', '.', '_').
std::string keyword(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64))
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') out.push_back(c);
  return out.empty() ? "unknown" : out;
}

bool plain(unsigned char c) {
  // RFC 2045 token characters, plus '@' (a pvalue may be local-part "@" domain-name).
  if (c <= 0x20 || c >= 0x7f) return false;
  return std::string_view("()<>,;:\\\"/[]?=").find(static_cast<char>(c)) == std::string_view::npos;
}

// A value as a token when it is one, else a quoted-string; control characters become '?'.
std::string value(std::string_view s) {
  s = s.substr(0, 256);
  bool token = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return plain(static_cast<unsigned char>(c)); });
  if (token) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) out.push_back('?');
    else if (c == '"' || c == '\\') out += {'\\', c};
    else out.push_back(c);
  }
  return out + "\"";
}

std::string comment(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '(' || c == ')' || c == '\\') out.push_back(' ');
    else out.push_back(c);
  }
  return out;
}

std::string render(const Clause& c) {
  std::string s = keyword(c.method) + "=" + keyword(c.result);
  if (!c.comment.empty()) s += " (" + comment(c.comment) + ")";
  if (!c.reason.empty()) s += " reason=" + value(c.reason);
  for (const auto& [k, v] : c.properties) s += " " + keyword(k) + "=" + value(v);
  return s;
}

// Skips CFWS (RFC 5322 3.2.2): whitespace, folding and nested comments.
std::size_t skip_cfws(std::string_view v, std::size_t i) {
  int depth = 0;
  while (i < v.size()) {
    char c = v[i];
    if (depth > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '(') {
      ++depth;
      ++i;
    } else {
      break;
    }
  }
  return i;
}

}  // namespace

std::string render_authentication_results(std::string_view authserv_id, const std::vector<Clause>& clauses,
                                          std::size_t max_size) {
  std::string head = "Authentication-Results: " + value(authserv_id) + ";";
  if (clauses.empty()) return head + " none\r\n";
  std::string body;
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < clauses.size(); ++i) {
    auto one = render(clauses[i]);
    if (head.size() + body.size() + one.size() + 64 > max_size) {
      dropped = clauses.size() - i;
      break;
    }
    body += (body.empty() ? "\r\n\t" : ";\r\n\t") + one;
  }
  if (body.empty()) return head + " none (results too long)\r\n";
  if (dropped) body += " (" + std::to_string(dropped) + " more results not shown)";
  return head + body + "\r\n";
}

std::string authserv_id_of(std::string_view v) {
  std::size_t i = skip_cfws(v, 0);
  std::string id;
  if (i < v.size() && v[i] == '"') {
    for (++i; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      if (v[i] != '\r' && v[i] != '\n') id.push_back(v[i]);
    }
  } else {
    for (; i < v.size(); ++i) {
      char c = v[i];
      if (c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(') break;
      id.push_back(c);
    }
  }
  return lower(id);
}

namespace {

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string remove_fields(std::string_view header, std::string_view authserv_id, bool trace, ForgedFields& removed) {
  removed = {};
  const std::string ours = lower(authserv_id);
  std::string out;
  out.reserve(header.size());
  std::size_t pos = 0;
  while (pos < header.size()) {
    // One field: its first line and every continuation line (starting with SP or HTAB).
    std::size_t end = pos;
    do {
      auto nl = header.find('\n', end);
      end = nl == std::string_view::npos ? header.size() : nl + 1;
    } while (end < header.size() && (header[end] == ' ' || header[end] == '\t'));
    auto field = header.substr(pos, end - pos);
    auto colon = field.find(':');
    if (colon != std::string_view::npos) {
      auto name = field.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      if (iequals_ascii(name, "authentication-results") && !ours.empty() && authserv_id_of(field.substr(colon + 1)) == ours) {
        ++removed.results;
        pos = end;
        continue;
      }
      if (trace && (iequals_ascii(name, "x-mailstead-iprev") || iequals_ascii(name, "x-mailstead-helo"))) {
        ++removed.trace;
        pos = end;
        continue;
      }
    }
    out.append(field);
    pos = end;
  }
  return out;
}

}  // namespace

std::string remove_forged_results(std::string_view header, std::string_view authserv_id, std::size_t& removed) {
  ForgedFields f;
  auto out = remove_fields(header, authserv_id, false, f);
  removed = f.results;
  return out;
}

std::string remove_forged_fields(std::string_view header, std::string_view authserv_id, ForgedFields& removed) {
  return remove_fields(header, authserv_id, true, removed);
}

}  // namespace mailstead::inbound

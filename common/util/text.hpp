// ASCII text helpers for protocol parsing: case mapping that leaves UTF-8 bytes alone,
// case-insensitive comparison, and trimming of spaces and tabs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailstead {

inline char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = ascii_upper(c);
  return o;
}

inline std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = ascii_lower(c);
  return o;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// Without leading and trailing spaces, tabs, CR and LF.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// A random session id (10 hex digits) for log lines.
std::string new_session_id();

// An RFC 5322 Date: value in UTC ("Tue, 01 Dec 2026 03:04:05 +0000") for Unix time t.
std::string rfc5322_date(std::int64_t t);

// Text for an XML element or attribute value: & < > " ' escaped.
std::string xml_escape(std::string_view s);

}  // namespace mailstead

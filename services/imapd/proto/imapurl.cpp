// IMAP URL parsing (RFC 5092 9 formal syntax, the parts CATENATE needs).
#include "proto/imapurl.hpp"

#include <charconv>

#include "util/text.hpp"

namespace mailstead::imap {

namespace {

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc{} || p != s.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

template <typename T>
bool number(std::string_view s, T& out) {
  if (s.empty() || s.size() > 20 || s[0] == '0') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// Finds `key` (such as "/;UID=") case-insensitively.
std::size_t ifind(std::string_view s, std::string_view key, std::size_t from = 0) {
  for (std::size_t i = from; i + key.size() <= s.size(); ++i)
    if (iequals(s.substr(i, key.size()), key)) return i;
  return std::string_view::npos;
}

bool istarts(std::string_view s, std::string_view p) { return s.size() >= p.size() && iequals(s.substr(0, p.size()), p); }

}  // namespace

std::optional<ImapUrl> parse_imap_url(std::string_view url) {
  ImapUrl u;
  if (url.size() > 4096) return std::nullopt;
  std::string_view path = url;
  if (istarts(url, "imap://")) {
    u.absolute = true;
    auto rest = url.substr(7);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto authority = rest.substr(0, slash);
    path = rest.substr(slash);
    auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
      auto userinfo = authority.substr(0, at);
      auto semi = userinfo.find(';');  // ";AUTH=…": how to log in, not who
      auto user = percent_decode(userinfo.substr(0, semi));
      if (!user || user->empty()) return std::nullopt;
      u.user = *user;
      authority = authority.substr(at + 1);
    }
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) authority = authority.substr(0, colon);
    if (authority.empty()) return std::nullopt;
    u.host = lower(authority);
  }
  std::string_view tail;
  if (istarts(path, ";UID=")) {
    if (u.absolute) return std::nullopt;
    u.relative_to_selected = true;
    tail = path.substr(1);
  } else {
    if (path.empty() || path[0] != '/') return std::nullopt;
    auto uid_at = ifind(path, "/;UID=");
    if (uid_at == std::string_view::npos || uid_at == 0) return std::nullopt;
    auto box = path.substr(1, uid_at - 1);
    auto v = ifind(box, ";UIDVALIDITY=");
    if (v != std::string_view::npos) {
      std::uint32_t validity = 0;
      if (!number(box.substr(v + 13), validity)) return std::nullopt;
      u.uidvalidity = validity;
      box = box.substr(0, v);
    }
    auto name = percent_decode(box);
    if (!name || name->empty()) return std::nullopt;
    u.mailbox = *name;
    tail = path.substr(uid_at + 2);
  }
  // tail: "UID=n[;URLAUTH…][/;SECTION=s][/;PARTIAL=o[.l]]…"
  std::size_t start = 0;
  bool first = true;
  while (start <= tail.size()) {
    auto end = ifind(tail, "/;", start);
    auto seg = tail.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (ifind(seg, ";EXPIRE=") != std::string_view::npos || ifind(seg, ";URLAUTH=") != std::string_view::npos) {
      u.urlauth = true;
      seg = seg.substr(0, seg.find(';'));
    }
    if (first) {
      if (!istarts(seg, "UID=") || !number(seg.substr(4), u.uid)) return std::nullopt;
      first = false;
    } else if (istarts(seg, "SECTION=")) {
      auto s = percent_decode(seg.substr(8));
      if (!s || s->empty()) return std::nullopt;
      u.section = *s;
    } else if (istarts(seg, "PARTIAL=")) {
      auto p = seg.substr(8);
      auto dot = p.find('.');
      std::uint64_t off = 0, len = 0;
      if (p.substr(0, dot) == "0") off = 0;
      else if (!number(p.substr(0, dot), off)) return std::nullopt;
      u.partial_offset = off;
      if (dot != std::string_view::npos) {
        if (!number(p.substr(dot + 1), len)) return std::nullopt;
        u.partial_length = len;
      }
    } else {
      return std::nullopt;
    }
    if (end == std::string_view::npos) break;
    start = end + 2;
  }
  return u;
}

}  // namespace mailstead::imap

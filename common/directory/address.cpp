// Address parsing and normalisation (RFC 5321 4.1.2, RFC 5322 3.4.1, RFC 6531 3.3).
#include "directory/address.hpp"

#include <idn2.h>

#include <cctype>
#include <cstdlib>

namespace mailstead::directory {

namespace {

bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8 (RFC 6531 extends atext)
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool valid_domain_chars(std::string_view d) {
  if (d.empty()) return false;
  for (unsigned char c : d)
    if (!(c >= 0x80 || std::isalnum(c) || c == '-' || c == '.' || c == '_')) return false;
  return true;
}

}  // namespace

std::string lowercase_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_dot_atom(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return false;
  char prev = 0;
  for (unsigned char c : local) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    prev = static_cast<char>(c);
  }
  return true;
}

std::optional<ParsedAddress> parse_address(std::string_view s) {
  ParsedAddress a;
  if (s.empty() || s.size() > 512) return std::nullopt;
  if (s.front() == '@') {  // A-d-l ":" Mailbox
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    a.source_route = std::string(s.substr(0, colon));
    s.remove_prefix(colon + 1);
    if (s.empty()) return std::nullopt;
  }
  std::size_t i = 0;
  if (s.front() == '"') {
    a.quoted = true;
    for (i = 1; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '\\') {
        if (++i >= s.size()) return std::nullopt;
        c = static_cast<unsigned char>(s[i]);
        if (c < 32 || c == 127) return std::nullopt;
        a.local.push_back(static_cast<char>(c));
      } else if (c == '"') {
        break;
      } else if (c < 32 || c == 127) {
        return std::nullopt;
      } else {
        a.local.push_back(static_cast<char>(c));
      }
    }
    if (i >= s.size()) return std::nullopt;  // no closing quote
    ++i;
  } else {
    while (i < s.size() && s[i] != '@') ++i;
    a.local = std::string(s.substr(0, i));
    if (!is_dot_atom(a.local)) return std::nullopt;
  }
  if (i == s.size()) return a;  // no domain: only "Postmaster" is legal in a path
  if (s[i] != '@') return std::nullopt;
  auto d = s.substr(i + 1);
  a.has_domain = true;
  if (d.empty()) return std::nullopt;
  if (d.front() == '[') {
    if (d.back() != ']' || d.size() < 3) return std::nullopt;
    for (char c : d.substr(1, d.size() - 2))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':' || std::isalpha(static_cast<unsigned char>(c))))
        return std::nullopt;
    a.ip_literal = true;
    a.domain = std::string(d.substr(1, d.size() - 2));
    return a;
  }
  if (d.back() == '.') {
    a.trailing_dot = true;
    d.remove_suffix(1);
  }
  if (!valid_domain_chars(d) || d.front() == '.' || d.find("..") != std::string_view::npos) return std::nullopt;
  a.domain = std::string(d);
  return a;
}

Result<std::string> normalize_domain(std::string_view domain) {
  if (domain.empty()) return invalid("the domain is empty");
  if (!valid_domain_chars(domain)) return invalid("'" + std::string(domain) + "' is not a domain name");
  std::string d = lowercase_ascii(domain);
  bool ascii = true;
  for (unsigned char c : d) if (c >= 0x80) ascii = false;
  if (!ascii) {
    char* out = nullptr;
    int rc = idn2_to_ascii_8z(d.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (rc != IDN2_OK) return invalid("'" + std::string(domain) + "' is not a valid internationalised domain: " + idn2_strerror(rc));
    d = out;
    idn2_free(out);
    d = lowercase_ascii(d);
  }
  if (d.size() > 253) return invalid("the domain is longer than 253 characters");
  std::size_t start = 0;
  while (start <= d.size()) {
    auto end = d.find('.', start);
    if (end == std::string::npos) end = d.size();
    auto label = std::string_view(d).substr(start, end - start);
    if (label.empty()) return invalid("'" + std::string(domain) + "' has an empty label");
    if (label.size() > 63) return invalid("a label of '" + std::string(domain) + "' is longer than 63 characters");
    if (label.front() == '-' || label.back() == '-')
      return invalid("a label of '" + std::string(domain) + "' starts or ends with '-'");
    start = end + 1;
  }
  return d;
}

void split_tag(std::string_view local, std::string_view delimiter, std::string& base, std::string& tag) {
  auto pos = delimiter.empty() ? std::string_view::npos : local.find(delimiter);
  if (pos == std::string_view::npos || pos == 0) {
    base = std::string(local);
    tag.clear();
    return;
  }
  base = std::string(local.substr(0, pos));
  tag = std::string(local.substr(pos + delimiter.size()));
}

Result<NormalAddress> normalize_admin_address(std::string_view s, std::string_view delimiter) {
  auto p = parse_address(s);
  if (!p || !p->has_domain || !p->source_route.empty() || p->ip_literal || p->trailing_dot)
    return invalid("'" + std::string(s) + "' is not an address of the form local@domain");
  if (!is_dot_atom(p->local))
    return invalid("'" + std::string(s) + "': the local part must not need quotes");
  if (p->local.size() > 64) return invalid("'" + std::string(s) + "': the local part is longer than 64 characters");
  for (char c : p->local)
    if (c == '%' || c == '!')
      return invalid("'" + std::string(s) + "': '%' and '!' are not allowed in a local part (they are routing syntax)");
  if (!delimiter.empty() && p->local.find(delimiter) != std::string::npos)
    return invalid("'" + std::string(s) + "': the local part must not contain the sub-address delimiter '" +
                   std::string(delimiter) + "'");
  auto d = normalize_domain(p->domain);
  if (!d) return d.error();
  return NormalAddress{lowercase_ascii(p->local), "", *d};
}

}  // namespace mailstead::directory

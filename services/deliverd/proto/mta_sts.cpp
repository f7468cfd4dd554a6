// MTA-STS records, policies and MX matching (see mta_sts.hpp; RFC 8461 3.1, 3.2, 4.1).
#include "proto/mta_sts.hpp"

namespace mailstead::outbound::mta_sts {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_wsp(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

// A domain name as RFC 5321 4.1.2 "Domain" allows it: LDH labels of 1..63 characters,
// at most 253 in all, at least two labels.
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t labels = 0;
  while (!d.empty()) {
    auto dot = d.find('.');
    auto label = d.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
    ++labels;
    if (dot == std::string_view::npos) break;
    d.remove_prefix(dot + 1);
    if (d.empty()) return false;  // a trailing dot is not part of the grammar
  }
  return labels >= 2;
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::none: return "none";
    case Mode::testing: return "testing";
    case Mode::enforce: return "enforce";
  }
  return "?";
}

PolicyParse parse_policy(std::string_view body) {
  PolicyParse out;
  auto fail = [&](std::string why) {
    out.error = std::move(why);
    return out;
  };
  if (body.size() > default_max_policy_size * 16) return fail("the policy is far too large");
  Policy p;
  bool have_version = false, have_mode = false, have_max_age = false;
  std::size_t line_no = 0;
  while (!body.empty()) {
    ++line_no;
    auto nl = body.find('\n');
    auto line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string where = "line " + std::to_string(line_no);
    if (line.empty()) {
      // Blank lines after the last field are tolerated; between fields they are not (3.2).
      if (body.find_first_not_of("\r\n") == std::string_view::npos) break;
      return fail(where + " is empty");
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return fail(where + " has no ':'");
    auto name = line.substr(0, colon);
    if (name.empty() || name.size() > 32) return fail(where + ": field names have 1 to 32 characters");
    for (char c : name)
      if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.')
        return fail(where + ": the field name has a character other than letters, digits, '_', '-', '.'");
    auto value = trim_wsp(line.substr(colon + 1));
    if (value.empty()) return fail(where + ": the field '" + std::string(name) + "' has no value");
    for (char c : value)
      if (!is_wsp(c) && (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e))
        return fail(where + ": the value has a control or non-ASCII character");
    if (name == "version") {
      if (have_version) continue;
      if (value != "STSv1") return fail(where + ": version must be STSv1, not '" + std::string(value) + "'");
      have_version = true;
    } else if (name == "mode") {
      if (have_mode) continue;
      if (value == "enforce") p.mode = Mode::enforce;
      else if (value == "testing") p.mode = Mode::testing;
      else if (value == "none") p.mode = Mode::none;
      else return fail(where + ": mode must be enforce, testing or none, not '" + std::string(value) + "'");
      have_mode = true;
    } else if (name == "max_age") {
      if (have_max_age) continue;
      if (value.size() > 10) return fail(where + ": max_age has more than 10 digits");
      std::uint64_t n = 0;
      for (char c : value) {
        if (!is_digit(c)) return fail(where + ": max_age must be a number of seconds");
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (n > max_max_age) return fail(where + ": max_age is more than 31557600 seconds");
      p.max_age = static_cast<std::uint32_t>(n);
      have_max_age = true;
    } else if (name == "mx") {
      std::string pattern;
      for (char c : value) pattern.push_back(lower(c));
      std::string_view domain = pattern;
      if (domain.starts_with("*.")) domain.remove_prefix(2);
      if (!valid_domain(domain)) return fail(where + ": '" + std::string(value) + "' is not an MX pattern");
      p.mx.push_back(std::move(pattern));
    }
    // Any other field: an extension, ignored (3.2).
  }
  if (!have_version) return fail("the policy has no 'version: STSv1'");
  if (!have_mode) return fail("the policy has no mode");
  if (!have_max_age) return fail("the policy has no max_age");
  if (p.mode != Mode::none && p.mx.empty()) return fail("the policy has no mx pattern");
  out.policy = std::move(p);
  return out;
}

std::optional<std::string> parse_txt(const std::vector<std::string>& texts, std::string* why) {
  auto no = [&](std::string w) -> std::optional<std::string> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  const std::string_view* found = nullptr;
  std::vector<std::string_view> records(texts.begin(), texts.end());
  for (const auto& t : records) {
    // 3.1: records that do not begin with "v=STSv1;" are discarded.
    if (!t.starts_with("v=STSv1")) continue;
    auto rest = t.substr(7);
    if (!rest.empty() && !is_wsp(rest.front()) && rest.front() != ';') continue;
    if (found) return no("more than one v=STSv1 TXT record");
    found = &t;
  }
  if (!found) return no("no v=STSv1 TXT record");
  std::string_view rest = found->substr(7);
  std::optional<std::string> id;
  // sts-sep field *(sts-sep field) [sts-sep], sts-sep = *WSP ";" *WSP
  while (true) {
    rest = trim_wsp(rest);
    if (rest.empty()) break;
    if (rest.front() != ';') return no("the TXT record's fields are not separated by ';'");
    rest.remove_prefix(1);
    rest = trim_wsp(rest);
    if (rest.empty()) break;  // a trailing ';'
    auto end = rest.find_first_of("; \t");
    auto field = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    auto eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0) return no("the TXT record has a field without '='");
    auto name = field.substr(0, eq), value = field.substr(eq + 1);
    if (name.size() > 32 || !(is_alpha(name.front()) || is_digit(name.front())))
      return no("the TXT record has a malformed field name");
    for (char c : name)
      if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.') return no("the TXT record has a malformed field name");
    if (value.empty()) return no("the TXT record has an empty value");
    if (name == "id") {
      if (id) return no("the TXT record has two ids");
      if (value.size() > 32) return no("the TXT record's id is longer than 32 characters");
      for (char c : value)
        if (!is_alpha(c) && !is_digit(c)) return no("the TXT record's id has a character other than letters and digits");
      id = std::string(value);
    } else {
      for (char c : value)
        if (static_cast<unsigned char>(c) < 0x21 || c == ';' || c == '=' || static_cast<unsigned char>(c) > 0x7e)
          return no("the TXT record has a malformed value");
    }
  }
  if (!id) return no("the TXT record has no id");
  return id;
}

bool mx_matches(std::string_view pattern, std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  auto equal = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (lower(a[i]) != lower(b[i])) return false;
    return true;
  };
  if (pattern.starts_with("*.")) {
    auto suffix = pattern.substr(1);  // ".example.net"
    if (host.size() <= suffix.size()) return false;
    auto label = host.substr(0, host.size() - suffix.size());
    if (label.find('.') != std::string_view::npos) return false;  // exactly one label
    return equal(host.substr(host.size() - suffix.size()), suffix);
  }
  return equal(pattern, host);
}

bool policy_allows(const Policy& policy, std::string_view host) {
  for (const auto& p : policy.mx)
    if (mx_matches(p, host)) return true;
  return false;
}

}  // namespace mailstead::outbound::mta_sts

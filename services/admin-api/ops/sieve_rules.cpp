// Vacation and forwarding rules in Roundcube's form (see sieve_rules.hpp). The script is
// split into rules by the parser's line numbers: a top-level command, with the
// `# rule:[name]` comment just above it, up to the next one.
#include "ops/sieve_rules.hpp"

#include <algorithm>
#include <set>

#include "directory/address.hpp"
#include "sieve/ast.hpp"
#include "sieve/sieve.hpp"

namespace mailstead::admin::rules {

namespace {

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      break;
    }
    out.emplace_back(s.substr(start, nl + 1 - start));
    start = nl + 1;
  }
  return out;
}

bool starts_with_rule_comment(std::string_view line) { return line.starts_with("# rule:["); }

// A top-level chain (if + elsif/else, or one command) and the lines it spans (0-based,
// end exclusive).
struct Region {
  std::size_t first = 0, end = 0;
  std::vector<const sieve::Command*> chain;
};

struct Split {
  std::shared_ptr<const sieve::Script> script;
  std::vector<std::string> lines;
  std::vector<Region> regions;
};

Result<Split> split(std::string_view text) {
  Split sp;
  sp.lines = split_lines(text);
  auto parsed = sieve::parse(text);
  if (!parsed.script) return conflict("the active Sieve script has an error (" + parsed.error + "); fix it first");
  sp.script = parsed.script;
  const auto& cmds = sp.script->commands;
  std::set<int> seen;
  for (const auto& c : cmds) {
    if (!seen.insert(c.line).second)
      return conflict("the active Sieve script has two commands on line " + std::to_string(c.line) +
                      "; edit it with a Sieve client");
    bool continues = (c.name == "elsif" || c.name == "else") && !sp.regions.empty();
    if (continues) {
      sp.regions.back().chain.push_back(&c);
      continue;
    }
    Region r;
    r.first = static_cast<std::size_t>(c.line - 1);
    if (r.first > 0 && r.first - 1 < sp.lines.size() && starts_with_rule_comment(sp.lines[r.first - 1])) --r.first;
    r.chain.push_back(&c);
    sp.regions.push_back(r);
  }
  for (std::size_t i = 0; i < sp.regions.size(); ++i)
    sp.regions[i].end = i + 1 < sp.regions.size() ? sp.regions[i + 1].first : sp.lines.size();
  return sp;
}

const sieve::Arg* tag(const sieve::Call& c, const char* name) {
  auto it = c.tags.find(name);
  return it == c.tags.end() ? nullptr : &it->second;
}

// Collects currentdate tests (date part) into start/end; false for any other test.
bool read_dates(const sieve::Test& t, Vacation& v) {
  if (t.name == "true") return true;
  if (t.name == "allof") {
    for (const auto& sub : t.tests)
      if (!read_dates(sub, v)) return false;
    return true;
  }
  if (t.name != "currentdate") return false;
  auto call = sieve::call_of(t);
  auto* value = tag(call, "value");
  if (!value || call.positional.size() != 2 || value->strings.empty()) return false;
  if (call.positional[0]->strings.empty() || call.positional[0]->strings[0] != "date") return false;
  if (call.positional[1]->strings.empty()) return false;
  if (auto* z = tag(call, "zone"); z && !z->strings.empty()) v.zone = z->strings[0];
  auto op = value->strings[0];
  auto& date = call.positional[1]->strings[0];
  if (op == "ge") v.start = date;
  else if (op == "le") v.end = date;
  else return false;
  return true;
}

// The tests of a switched-off rule, from the comment of "if false # <tests>".
std::optional<sieve::Test> disabled_tests(const Split& sp, const Region& r) {
  const auto& cmd = *r.chain[0];
  auto& line = sp.lines[static_cast<std::size_t>(cmd.line - 1)];
  auto hash = line.find('#');
  if (hash == std::string::npos) return std::nullopt;
  auto rest = line.substr(hash + 1);
  auto probe = "require [\"date\",\"relational\"];\nif " + rest + "\n{\n  keep;\n}\n";
  auto parsed = sieve::parse(probe);
  if (!parsed.script || parsed.script->commands.size() < 2) return std::nullopt;
  return parsed.script->commands[1].tests.at(0);
}

bool is_off(const sieve::Command& cmd) { return !cmd.tests.empty() && cmd.tests[0].name == "false"; }

std::optional<Vacation> vacation_of(const Split& sp, const Region& r) {
  if (r.chain.size() != 1) return std::nullopt;
  const auto& cmd = *r.chain[0];
  if (cmd.name != "if" || cmd.block.empty() || cmd.block[0].name != "vacation") return std::nullopt;
  Vacation v;
  v.enabled = !is_off(cmd);
  std::optional<sieve::Test> tests = v.enabled ? std::optional<sieve::Test>(cmd.tests.at(0)) : disabled_tests(sp, r);
  if (tests) read_dates(*tests, v);
  auto call = sieve::call_of(cmd.block[0]);
  if (auto* d = tag(call, "days")) v.days = static_cast<std::uint32_t>(d->number);
  if (auto* s = tag(call, "subject"); s && !s->strings.empty()) v.subject = s->strings[0];
  if (auto* f = tag(call, "from"); f && !f->strings.empty()) v.from = f->strings[0];
  if (auto* a = tag(call, "addresses")) v.addresses = a->strings;
  if (!call.positional.empty() && !call.positional[0]->strings.empty()) v.reason = call.positional[0]->strings[0];
  // A text: block ends with a line break and the parser gives CRLF; the form shows LF lines.
  for (std::size_t p; (p = v.reason.find("\r\n")) != std::string::npos;) v.reason.erase(p, 1);
  if (!v.reason.empty() && v.reason.back() == '\n') v.reason.pop_back();
  return v;
}

std::optional<Forward> forward_of(const Region& r) {
  if (r.chain.size() != 1) return std::nullopt;
  const auto& cmd = *r.chain[0];
  if (cmd.name != "if" || cmd.block.size() != 1 || cmd.block[0].name != "redirect") return std::nullopt;
  if (cmd.tests.empty() || (cmd.tests[0].name != "true" && cmd.tests[0].name != "false")) return std::nullopt;
  Forward f;
  f.enabled = cmd.tests[0].name == "true";
  auto call = sieve::call_of(cmd.block[0]);
  f.keep_copy = call.has("copy");
  if (!call.positional.empty() && !call.positional[0]->strings.empty()) f.target = call.positional[0]->strings[0];
  return f;
}

std::string join_strings(const std::vector<std::string>& v) {
  if (v.size() == 1) return sieve_string(v[0]);
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + sieve_string(v[i]);
  return out + "]";
}

// Puts `rule` in place of the region at `index` (or first, when index is npos) and makes
// one require line with everything the script needs.
Result<std::string> rewrite(const Split& sp, std::size_t index, const std::string& rule, std::set<std::string> need) {
  for (const auto& e : sp.script->require) need.insert(e);
  std::vector<bool> drop(sp.lines.size(), false);
  std::size_t insert_at = sp.lines.size();
  bool first_rule = true;
  for (std::size_t i = 0; i < sp.regions.size(); ++i) {
    const auto& r = sp.regions[i];
    if (r.chain[0]->name == "require") {
      for (auto l = r.first; l < r.end; ++l) drop[l] = true;
      continue;
    }
    if (first_rule) {
      first_rule = false;
      if (index == std::string::npos) insert_at = r.first;
    }
    if (i == index) {
      for (auto l = r.first; l < r.end; ++l) drop[l] = true;
      insert_at = r.first;
    }
  }
  // Leading comments (Roundcube's script header) stay above the require line.
  std::size_t header_end = 0;
  if (!sp.regions.empty()) header_end = sp.regions[0].first;
  else header_end = sp.lines.size();
  std::string out;
  for (std::size_t l = 0; l < header_end && l < sp.lines.size(); ++l)
    if (!drop[l]) out += sp.lines[l];
  if (!out.empty() && out.back() != '\n') out += "\n";
  std::string req = "require [";
  bool firstx = true;
  for (const auto& e : need) {
    req += (firstx ? "\"" : ",\"") + e + "\"";
    firstx = false;
  }
  req += "];\n";
  if (!need.empty()) out += req;
  if (insert_at < header_end) insert_at = header_end;
  for (std::size_t l = header_end; l <= sp.lines.size(); ++l) {
    if (l == insert_at) out += rule;
    if (l < sp.lines.size() && !drop[l]) out += sp.lines[l];
  }
  if (!out.empty() && out.back() != '\n') out += "\n";
  auto check = sieve::parse(out);
  if (!check.script) return internal("the rewritten script does not parse: " + check.error);
  return out;
}

bool valid_date(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (d[i] < '0' || d[i] > '9') return false;
  int month = (d[5] - '0') * 10 + (d[6] - '0'), day = (d[8] - '0') * 10 + (d[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

bool valid_zone(std::string_view z) {
  return z.size() == 5 && (z[0] == '+' || z[0] == '-') &&
         std::all_of(z.begin() + 1, z.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_address(std::string_view a) { return directory::normalize_admin_address(a, "").has_value(); }

}  // namespace

std::string sieve_string(std::string_view s) {
  std::string text(s);
  // Roundcube stores the body with LF line ends.
  for (std::size_t p; (p = text.find("\r\n")) != std::string::npos;) text.erase(p, 1);
  if (text.find('\n') != std::string::npos || text.find('\r') != std::string::npos || text.size() > 1024) {
    std::string out = "text:\n";
    std::size_t start = 0;
    while (start <= text.size()) {
      auto nl = text.find('\n', start);
      auto line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if (!line.empty() && line[0] == '.') out += ".";  // dot-stuffing (RFC 5228 2.4.2)
      out += line + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    return out + ".\n";
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Result<std::optional<Vacation>> find_vacation(std::string_view script) {
  if (script.empty()) return std::optional<Vacation>{};
  auto sp = split(script);
  if (!sp) return sp.error();
  for (const auto& r : sp->regions)
    if (auto v = vacation_of(*sp, r)) return v;
  return std::optional<Vacation>{};
}

Result<std::optional<Forward>> find_forward(std::string_view script) {
  if (script.empty()) return std::optional<Forward>{};
  auto sp = split(script);
  if (!sp) return sp.error();
  for (const auto& r : sp->regions)
    if (auto f = forward_of(r)) return f;
  return std::optional<Forward>{};
}

Result<std::string> set_vacation(std::string_view script, const Vacation& v) {
  if (v.reason.empty()) return Error(ErrorKind::invalid, "the vacation reply needs a text", "reason");
  if (v.reason.size() > 64 * 1024) return Error(ErrorKind::invalid, "the vacation reply is over 64 KiB", "reason");
  if (v.subject.size() > 998 || v.subject.find_first_of("\r\n") != std::string::npos)
    return Error(ErrorKind::invalid, "the subject is one line of at most 998 bytes", "subject");
  if (!v.from.empty() && !valid_address(v.from))
    return Error(ErrorKind::invalid, "from must be an address such as you@example.com", "from");
  for (const auto& a : v.addresses)
    if (!valid_address(a)) return Error(ErrorKind::invalid, "'" + a + "' is not an address", "addresses");
  if (v.days > 365) return Error(ErrorKind::invalid, "days is 1 to 365 (0: the default)", "days");
  if (!v.start.empty() && !valid_date(v.start)) return Error(ErrorKind::invalid, "start is YYYY-MM-DD", "start");
  if (!v.end.empty() && !valid_date(v.end)) return Error(ErrorKind::invalid, "end is YYYY-MM-DD", "end");
  if (!v.start.empty() && !v.end.empty() && v.end < v.start)
    return Error(ErrorKind::invalid, "end is before start", "end");
  if (!valid_zone(v.zone)) return Error(ErrorKind::invalid, "zone is +HHMM or -HHMM", "zone");

  Split sp;
  if (!script.empty()) {
    auto s = split(script);
    if (!s) return s.error();
    sp = std::move(*s);
  } else {
    sp.script = sieve::parse("").script;
  }
  std::size_t index = std::string::npos;
  for (std::size_t i = 0; i < sp.regions.size() && index == std::string::npos; ++i)
    if (vacation_of(sp, sp.regions[i])) index = i;

  std::set<std::string> need{"vacation"};
  std::vector<std::string> tests;
  auto date_test = [&](const char* op, const std::string& date) {
    need.insert("date");
    need.insert("relational");
    tests.push_back("currentdate :zone " + sieve_string(v.zone) + " :value \"" + op + "\" \"date\" " + sieve_string(date));
  };
  if (!v.start.empty()) date_test("ge", v.start);
  if (!v.end.empty()) date_test("le", v.end);
  std::string test_text;
  if (tests.empty()) test_text = "true";
  else if (tests.size() == 1) test_text = tests[0];
  else test_text = "allof (" + tests[0] + ", " + tests[1] + ")";
  std::string action = "vacation";
  if (v.days) action += " :days " + std::to_string(v.days);
  if (!v.addresses.empty()) action += " :addresses " + join_strings(v.addresses);
  if (!v.subject.empty()) action += " :subject " + sieve_string(v.subject);
  if (!v.from.empty()) action += " :from " + sieve_string(v.from);
  action += " " + sieve_string(v.reason);
  std::string rule = "# rule:[vacation]\nif " + std::string(v.enabled ? "" : "false # ") + test_text + "\n{\n\t" +
                     action + ";\n}\n";
  return rewrite(sp, index, rule, need);
}

Result<std::string> set_forward(std::string_view script, const Forward& f) {
  if (!valid_address(f.target))
    return Error(ErrorKind::invalid, "forward to an address such as someone@example.com", "target");
  Split sp;
  if (!script.empty()) {
    auto s = split(script);
    if (!s) return s.error();
    sp = std::move(*s);
  } else {
    sp.script = sieve::parse("").script;
  }
  std::size_t index = std::string::npos;
  for (std::size_t i = 0; i < sp.regions.size() && index == std::string::npos; ++i)
    if (forward_of(sp.regions[i])) index = i;
  std::set<std::string> need;
  if (f.keep_copy) need.insert("copy");
  std::string rule = "# rule:[forward]\nif " + std::string(f.enabled ? "true" : "false # true") + "\n{\n\tredirect " +
                     (f.keep_copy ? ":copy " : "") + sieve_string(f.target) + ";\n}\n";
  return rewrite(sp, index, rule, need);
}

}  // namespace mailstead::admin::rules

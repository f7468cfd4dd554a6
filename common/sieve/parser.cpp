// The Sieve grammar (RFC 5228 8), each command's and test's signature, and the checks that
// make a script safe to run: extensions required, arguments of the right kinds, regular
// expressions that compile. The first problem stops the parse with its line.
#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "sieve/ast.hpp"
#include "sieve/regex.hpp"
#include "sieve/sieve.hpp"
#include "util/text.hpp"

namespace mailstead::sieve {

const std::vector<std::string>& extensions() {
  static const std::vector<std::string> list{
      "fileinto", "reject", "ereject", "envelope", "encoded-character", "imap4flags", "copy", "body", "variables",
      "vacation", "vacation-seconds", "relational", "comparator-i;ascii-numeric", "subaddress", "regex", "date",
      "index", "mailbox", "include", "editheader", "duplicate", "enotify", "spamtest", "spamtestplus", "environment"};
  return list;
}

std::string extensions_text() {
  std::string out;
  for (const auto& e : extensions()) out += (out.empty() ? "" : " ") + e;
  return out;
}

namespace {

struct Error : std::runtime_error {
  Error(int line, const std::string& what) : std::runtime_error("line " + std::to_string(line) + ": " + what) {}
};

// ---- lexer ----

struct Token {
  enum class Kind { identifier, tag, number, string, multiline, punct, end } kind = Kind::end;
  std::string text;  // identifier/tag lower case; string contents; punctuation char
  std::uint64_t number = 0;
  int line = 0;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token next() {
    skip();
    Token t;
    t.line = line_;
    if (p_ >= s_.size()) return t;
    char c = s_[p_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      t.kind = Token::Kind::identifier;
      t.text = lower(word());
      if (t.text == "text" && p_ < s_.size() && s_[p_] == ':') {
        ++p_;
        t.kind = Token::Kind::multiline;
        t.text = multiline(t.line);
      }
      return t;
    }
    if (c == ':') {
      ++p_;
      if (p_ >= s_.size() || !(std::isalpha(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_'))
        throw Error(line_, "expected a tag name after ':'");
      t.kind = Token::Kind::tag;
      t.text = lower(word());
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      t.kind = Token::Kind::number;
      std::size_t b = p_;
      while (p_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p_]))) ++p_;
      std::uint64_t v = 0;
      auto [ptr, ec] = std::from_chars(s_.data() + b, s_.data() + p_, v);
      if (ec != std::errc()) throw Error(line_, "number too large");
      std::uint64_t mult = 1;
      if (p_ < s_.size()) {
        char q = ascii_upper(s_[p_]);
        if (q == 'K' || q == 'M' || q == 'G') {
          mult = q == 'K' ? 1024 : q == 'M' ? 1024 * 1024 : 1024ull * 1024 * 1024;
          ++p_;
        }
      }
      if (v > (UINT64_MAX >> 2) / mult) throw Error(line_, "number too large");
      t.number = v * mult;
      return t;
    }
    if (c == '"') {
      t.kind = Token::Kind::string;
      t.text = quoted();
      return t;
    }
    if (std::string_view("[](){},;").find(c) != std::string_view::npos) {
      ++p_;
      t.kind = Token::Kind::punct;
      t.text = std::string(1, c);
      return t;
    }
    throw Error(line_, std::string("unexpected character '") + (std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : "\\x" + std::to_string(static_cast<unsigned char>(c))) + "'");
  }

 private:
  void skip() {
    while (p_ < s_.size()) {
      char c = s_[p_];
      if (c == '\n') {
        ++line_;
        ++p_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++p_;
      } else if (c == '#') {
        while (p_ < s_.size() && s_[p_] != '\n') ++p_;
      } else if (c == '/' && p_ + 1 < s_.size() && s_[p_ + 1] == '*') {
        int start = line_;
        auto end = s_.find("*/", p_ + 2);
        if (end == std::string_view::npos) throw Error(start, "unterminated comment");
        line_ += static_cast<int>(std::count(s_.begin() + static_cast<long>(p_), s_.begin() + static_cast<long>(end), '\n'));
        p_ = end + 2;
      } else {
        return;
      }
    }
  }
  std::string word() {
    std::size_t b = p_;
    while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_')) ++p_;
    return std::string(s_.substr(b, p_ - b));
  }
  std::string quoted() {
    int start = line_;
    ++p_;
    std::string out;
    while (p_ < s_.size()) {
      char c = s_[p_++];
      if (c == '"') return out;
      if (c == '\\' && p_ < s_.size()) c = s_[p_++];  // \" \\ and undefined escapes: the char
      if (c == '\n') ++line_;
      out += c;
    }
    throw Error(start, "unterminated string");
  }
  std::string multiline(int start) {
    // text: [spaces] [# comment] CRLF, then lines up to "." CRLF; ".." starts a line with "."
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t')) ++p_;
    if (p_ < s_.size() && s_[p_] == '#')
      while (p_ < s_.size() && s_[p_] != '\n') ++p_;
    if (p_ < s_.size() && s_[p_] == '\r') ++p_;
    if (p_ >= s_.size() || s_[p_] != '\n') throw Error(line_, "expected a line break after text:");
    ++p_;
    ++line_;
    std::string out;
    while (p_ < s_.size()) {
      auto eol = s_.find('\n', p_);
      if (eol == std::string_view::npos) break;
      auto line = s_.substr(p_, eol - p_);
      p_ = eol + 1;
      ++line_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line == ".") return out;
      if (line.starts_with("..")) line.remove_prefix(1);
      out.append(line);
      out += "\r\n";
    }
    throw Error(start, "unterminated text: block (a line with a single \".\" ends it)");
  }

  std::string_view s_;
  std::size_t p_ = 0;
  int line_ = 1;
};

// ---- grammar ----

class Parser {
 public:
  Parser(std::string_view s, const Limits& limits) : lex_(s), limits_(limits) { t_ = lex_.next(); }

  std::vector<Command> commands(bool top, std::uint32_t depth) {
    if (depth > limits_.max_nesting) throw Error(t_.line, "blocks nested too deeply");
    std::vector<Command> out;
    while (true) {
      if (t_.kind == Token::Kind::end) {
        if (!top) throw Error(t_.line, "expected '}' to close the block");
        return out;
      }
      if (is('}')) {
        if (top) throw Error(t_.line, "unexpected '}'");
        return out;
      }
      out.push_back(command(depth));
    }
  }

 private:
  bool is(char c) const { return t_.kind == Token::Kind::punct && t_.text[0] == c; }
  void advance() { t_ = lex_.next(); }
  void expect(char c, const char* what) {
    if (!is(c)) throw Error(t_.line, std::string("expected ") + what);
    advance();
  }

  Command command(std::uint32_t depth) {
    if (t_.kind != Token::Kind::identifier) throw Error(t_.line, "expected a command");
    Command c;
    c.name = t_.text;
    c.line = t_.line;
    advance();
    c.args = arguments();
    if (t_.kind == Token::Kind::identifier) {
      c.tests.push_back(test(depth + 1));
    } else if (is('(')) {
      c.tests = test_list(depth + 1);
    }
    if (is(';')) {
      advance();
    } else if (is('{')) {
      advance();
      c.has_block = true;
      c.block = commands(false, depth + 1);
      expect('}', "'}'");
    } else {
      throw Error(t_.line, "expected ';' or a block after " + c.name);
    }
    return c;
  }

  std::vector<Arg> arguments() {
    std::vector<Arg> args;
    while (true) {
      Arg a;
      a.line = t_.line;
      if (t_.kind == Token::Kind::tag) {
        a.kind = Arg::Kind::tag;
        a.tag = t_.text;
      } else if (t_.kind == Token::Kind::number) {
        a.kind = Arg::Kind::number;
        a.number = t_.number;
      } else if (t_.kind == Token::Kind::string || t_.kind == Token::Kind::multiline) {
        a.strings.push_back(t_.text);
      } else if (is('[')) {
        a.list = true;
        advance();
        while (true) {
          if (t_.kind != Token::Kind::string && t_.kind != Token::Kind::multiline)
            throw Error(t_.line, "expected a string in the string list");
          a.strings.push_back(t_.text);
          advance();
          if (is(']')) break;
          expect(',', "',' or ']' in the string list");
        }
      } else {
        return args;
      }
      advance();
      args.push_back(std::move(a));
    }
  }

  Test test(std::uint32_t depth) {
    if (depth > limits_.max_nesting) throw Error(t_.line, "tests nested too deeply");
    if (t_.kind != Token::Kind::identifier) throw Error(t_.line, "expected a test");
    Test t;
    t.name = t_.text;
    t.line = t_.line;
    advance();
    t.args = arguments();
    if (t_.kind == Token::Kind::identifier) t.tests.push_back(test(depth + 1));
    else if (is('(')) t.tests = test_list(depth + 1);
    return t;
  }

  std::vector<Test> test_list(std::uint32_t depth) {
    expect('(', "'('");
    std::vector<Test> out;
    while (true) {
      out.push_back(test(depth));
      if (is(')')) break;
      expect(',', "',' or ')' in the test list");
    }
    advance();
    return out;
  }

  Lexer lex_;
  Token t_;
  const Limits& limits_;
};

// ---- signatures ----

enum class V { none, string, strings, number };

struct TagSpec {
  const char* tag;
  V value;
  const char* ext;    // nullptr: core
  const char* group;  // tags of one group exclude each other
};

struct Sig {
  const char* name;
  const char* ext;  // nullptr: core
  std::vector<TagSpec> tags;
  std::vector<V> positional;
  std::size_t min_positional;  // fewer than positional.size(): the first ones may be left out
  bool leading_optional = false;
  int tests = 0;  // 0 none, 1 one test, 2 a test list
  bool block = false;
};

const std::vector<TagSpec> kComparator{{"comparator", V::string, nullptr, "comparator"}};
const std::vector<TagSpec> kMatch{{"is", V::none, nullptr, "match"},       {"contains", V::none, nullptr, "match"},
                                  {"matches", V::none, nullptr, "match"},  {"regex", V::none, "regex", "match"},
                                  {"count", V::string, "relational", "match"}, {"value", V::string, "relational", "match"}};
const std::vector<TagSpec> kAddressPart{{"all", V::none, nullptr, "part"},
                                        {"localpart", V::none, nullptr, "part"},
                                        {"domain", V::none, nullptr, "part"},
                                        {"user", V::none, "subaddress", "part"},
                                        {"detail", V::none, "subaddress", "part"}};
const std::vector<TagSpec> kIndex{{"index", V::number, "index", "index"}, {"last", V::none, "index", "last"}};
// deleteheader has its own :index and :last (RFC 5293 5), without the index extension.
const std::vector<TagSpec> kEditIndex{{"index", V::number, nullptr, "index"}, {"last", V::none, nullptr, "last"}};

std::vector<TagSpec> join(std::initializer_list<std::vector<TagSpec>> parts) {
  std::vector<TagSpec> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const std::vector<Sig>& commands_table() {
  static const std::vector<Sig> t{
      {"require", nullptr, {}, {V::strings}, 1},
      {"if", nullptr, {}, {}, 0, false, 1, true},
      {"elsif", nullptr, {}, {}, 0, false, 1, true},
      {"else", nullptr, {}, {}, 0, false, 0, true},
      {"stop", nullptr, {}, {}, 0},
      {"keep", nullptr, {{"flags", V::strings, "imap4flags", "flags"}}, {}, 0},
      {"discard", nullptr, {}, {}, 0},
      {"redirect", nullptr, {{"copy", V::none, "copy", "copy"}}, {V::string}, 1},
      {"fileinto",
       "fileinto",
       {{"copy", V::none, "copy", "copy"}, {"flags", V::strings, "imap4flags", "flags"}, {"create", V::none, "mailbox", "create"}},
       {V::string},
       1},
      {"reject", "reject", {}, {V::string}, 1},
      {"ereject", "ereject", {}, {V::string}, 1},
      {"vacation",
       "vacation",
       {{"days", V::number, nullptr, "period"},
        {"seconds", V::number, "vacation-seconds", "period"},
        {"subject", V::string, nullptr, "subject"},
        {"from", V::string, nullptr, "from"},
        {"addresses", V::strings, nullptr, "addresses"},
        {"mime", V::none, nullptr, "mime"},
        {"handle", V::string, nullptr, "handle"}},
       {V::string},
       1},
      {"setflag", "imap4flags", {}, {V::string, V::strings}, 1, true},
      {"addflag", "imap4flags", {}, {V::string, V::strings}, 1, true},
      {"removeflag", "imap4flags", {}, {V::string, V::strings}, 1, true},
      {"set",
       "variables",
       {{"lower", V::none, nullptr, "case"},
        {"upper", V::none, nullptr, "case"},
        {"lowerfirst", V::none, nullptr, "casefirst"},
        {"upperfirst", V::none, nullptr, "casefirst"},
        {"quotewildcard", V::none, nullptr, "quote"},
        {"quoteregex", V::none, "regex", "quoteregex"},
        {"length", V::none, nullptr, "length"}},
       {V::string, V::string},
       2},
      {"addheader", "editheader", {{"last", V::none, nullptr, "last"}}, {V::string, V::string}, 2},
      {"deleteheader", "editheader", join({kComparator, kMatch, kEditIndex}), {V::string, V::strings}, 1},
      {"include",
       "include",
       {{"personal", V::none, nullptr, "location"},
        {"global", V::none, nullptr, "location"},
        {"once", V::none, nullptr, "once"},
        {"optional", V::none, nullptr, "optional"}},
       {V::string},
       1},
      {"return", "include", {}, {}, 0},
      {"global", "include", {}, {V::strings}, 1},
      {"notify",
       "enotify",
       {{"from", V::string, nullptr, "from"},
        {"importance", V::string, nullptr, "importance"},
        {"options", V::strings, nullptr, "options"},
        {"message", V::string, nullptr, "message"}},
       {V::string},
       1},
  };
  return t;
}

const std::vector<Sig>& tests_table() {
  static const std::vector<Sig> t{
      {"address", nullptr, join({kComparator, kMatch, kAddressPart, kIndex}), {V::strings, V::strings}, 2},
      {"envelope", "envelope", join({kComparator, kMatch, kAddressPart}), {V::strings, V::strings}, 2},
      {"header", nullptr, join({kComparator, kMatch, kIndex}), {V::strings, V::strings}, 2},
      {"exists", nullptr, {}, {V::strings}, 1},
      {"size", nullptr, {{"over", V::none, nullptr, "size"}, {"under", V::none, nullptr, "size"}}, {V::number}, 1},
      {"true", nullptr, {}, {}, 0},
      {"false", nullptr, {}, {}, 0},
      {"not", nullptr, {}, {}, 0, false, 1},
      {"allof", nullptr, {}, {}, 0, false, 2},
      {"anyof", nullptr, {}, {}, 0, false, 2},
      {"body",
       "body",
       join({kComparator, kMatch, {{"raw", V::none, nullptr, "transform"}, {"content", V::strings, nullptr, "transform"},
                                   {"text", V::none, nullptr, "transform"}}}),
       {V::strings},
       1},
      {"date", "date", join({kComparator, kMatch, kIndex, {{"zone", V::string, nullptr, "zone"}, {"originalzone", V::none, nullptr, "zone"}}}),
       {V::string, V::string, V::strings}, 3},
      {"currentdate", "date", join({kComparator, kMatch, {{"zone", V::string, nullptr, "zone"}}}), {V::string, V::strings}, 2},
      {"string", "variables", join({kComparator, kMatch}), {V::strings, V::strings}, 2},
      {"hasflag", "imap4flags", join({kComparator, kMatch}), {V::strings, V::strings}, 1, true},
      {"mailboxexists", "mailbox", {}, {V::strings}, 1},
      {"duplicate",
       "duplicate",
       {{"handle", V::string, nullptr, "handle"},
        {"header", V::string, nullptr, "id"},
        {"uniqueid", V::string, nullptr, "id"},
        {"seconds", V::number, nullptr, "seconds"},
        {"last", V::none, nullptr, "last"}},
       {},
       0},
      {"valid_notify_method", "enotify", {}, {V::strings}, 1},
      {"spamtest", "spamtest", join({kComparator, kMatch, {{"percent", V::none, "spamtestplus", "percent"}}}), {V::string}, 1},
      {"environment", "environment", join({kComparator, kMatch}), {V::string, V::strings}, 2},
      {"notify_method_capability", "enotify", join({kComparator, kMatch}), {V::string, V::string, V::strings}, 3},
  };
  return t;
}

const Sig* find(const std::vector<Sig>& table, const std::string& name) {
  for (const auto& s : table)
    if (name == s.name) return &s;
  return nullptr;
}

// Sorts the arguments into tags and positionals; with `script`, also checks extensions.
Call sort_args(const Sig& sig, const std::vector<Arg>& args, int line, const Script* script) {
  Call call;
  std::set<std::string> groups;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a.kind != Arg::Kind::tag) {
      call.positional.push_back(&a);
      continue;
    }
    if (!call.positional.empty()) throw Error(a.line, "tagged argument :" + a.tag + " must come before the other arguments");
    const TagSpec* spec = nullptr;
    for (const auto& t : sig.tags)
      if (a.tag == t.tag) spec = &t;
    if (!spec) throw Error(a.line, std::string(sig.name) + " has no :" + a.tag + " argument");
    if (script && spec->ext && !script->require.count(spec->ext))
      throw Error(a.line, ":" + a.tag + " needs require \"" + spec->ext + "\"");
    if (!groups.insert(spec->group).second) throw Error(a.line, ":" + a.tag + " conflicts with an earlier argument");
    Arg value = a;
    if (spec->value != V::none) {
      if (i + 1 >= args.size()) throw Error(a.line, ":" + a.tag + " needs a value");
      const auto& v = args[++i];
      if (spec->value == V::number && v.kind != Arg::Kind::number) throw Error(v.line, ":" + a.tag + " needs a number");
      if ((spec->value == V::string || spec->value == V::strings) && v.kind != Arg::Kind::strings)
        throw Error(v.line, ":" + a.tag + " needs a string");
      if (spec->value == V::string && v.list) throw Error(v.line, ":" + a.tag + " needs a single string, not a list");
      value = v;
    }
    call.tags[a.tag] = value;
  }
  auto n = call.positional.size();
  if (n < sig.min_positional || n > sig.positional.size())
    throw Error(line, std::string(sig.name) + " takes " +
                          (sig.min_positional == sig.positional.size()
                               ? std::to_string(sig.positional.size())
                               : std::to_string(sig.min_positional) + " to " + std::to_string(sig.positional.size())) +
                          " argument" + (sig.positional.size() == 1 ? "" : "s") + " after its tags");
  // Which spec each positional meets: leading optional ones are the ones left out.
  std::size_t offset = sig.leading_optional ? sig.positional.size() - n : 0;
  for (std::size_t k = 0; k < n; ++k) {
    auto want = sig.positional[k + offset];
    const auto* a = call.positional[k];
    if (want == V::number && a->kind != Arg::Kind::number) throw Error(a->line, std::string(sig.name) + " expects a number");
    if (want != V::number && a->kind != Arg::Kind::strings) throw Error(a->line, std::string(sig.name) + " expects a string");
    if (want == V::string && a->list) throw Error(a->line, std::string(sig.name) + " expects a single string, not a list");
  }
  return call;
}

bool has_variables(const Script& s) { return s.require.count("variables") != 0; }

const std::set<std::string> kDateParts{"year", "month", "day", "date", "julian", "hour", "minute",
                                       "second", "time", "iso8601", "std11", "zone", "weekday"};
const std::set<std::string> kRelations{"gt", "ge", "lt", "le", "eq", "ne"};

// What checking one script has compiled so far: each distinct :regex key once, and their
// programs' size together bounded, so that checking a script stays cheap however many
// keys it holds (thousands of large keys took over a minute to compile).
struct Checks {
  const Limits& limits;
  std::set<std::pair<std::string, bool>> compiled;
  std::size_t program_bytes = 0;

  void regex(const std::string& key, bool icase, int line) {
    if (!compiled.emplace(key, icase).second) return;
    // Compiled to be checked, then dropped: only delivery keeps compiled keys (cached).
    Regex re(key, icase, limits);
    if (!re.ok()) throw Error(line, re.error());
    program_bytes += re.program_bytes();
    auto budget = 4 * static_cast<std::size_t>(limits.max_regex_memory);
    if (program_bytes > budget)
      throw Error(line, "the script's :regex keys compile to more than " + std::to_string(budget) +
                            " bytes together (4 times max_regex_memory)");
  }
};

void check_match(const Call& c, const Script& s, int line, Checks& ck) {
  if (c.has("comparator")) {
    auto cmp = lower(c.str("comparator"));
    if (cmp == "i;ascii-numeric") {
      if (!s.require.count("comparator-i;ascii-numeric"))
        throw Error(line, "comparator \"i;ascii-numeric\" needs require \"comparator-i;ascii-numeric\"");
    } else if (cmp != "i;octet" && cmp != "i;ascii-casemap") {
      throw Error(line, "unknown comparator \"" + cmp + "\"");
    }
  }
  for (const char* rel : {"count", "value"})
    if (c.has(rel) && !kRelations.count(lower(c.str(rel))))
      throw Error(line, std::string(":") + rel + " needs one of \"gt\" \"ge\" \"lt\" \"le\" \"eq\" \"ne\"");
  if (c.has("regex") && !c.positional.empty()) {
    if (c.has("comparator") && lower(c.str("comparator")) == "i;ascii-numeric")
      throw Error(line, ":regex cannot use the i;ascii-numeric comparator");
    bool icase = !(c.has("comparator") && lower(c.str("comparator")) == "i;octet");  // as the interpreter runs it
    for (const auto& key : c.positional.back()->strings) {
      if (has_variables(s) && key.find("${") != std::string::npos) continue;  // compiled at run time
      ck.regex(key, icase, line);
    }
  }
}

void check_test(const Test& t, const Script& s, Checks& ck) {
  const Sig* sig = find(tests_table(), t.name);
  if (!sig) throw Error(t.line, "unknown test \"" + t.name + "\"");
  if (sig->ext && !s.require.count(sig->ext)) throw Error(t.line, t.name + " needs require \"" + sig->ext + "\"");
  auto call = sort_args(*sig, t.args, t.line, &s);
  if (sig->tests == 0 && !t.tests.empty()) throw Error(t.line, t.name + " takes no tests");
  if (sig->tests == 1 && (t.tests.size() != 1)) throw Error(t.line, t.name + " takes one test");
  if (sig->tests == 2 && t.tests.empty()) throw Error(t.line, t.name + " takes a test list");
  check_match(call, s, t.line, ck);
  if (t.name == "size" && !call.has("over") && !call.has("under")) throw Error(t.line, "size needs :over or :under");
  if (t.name == "envelope")
    for (const auto& part : call.positional[0]->strings)
      if (auto p = lower(part); p != "from" && p != "to" && p != "auth")
        throw Error(t.line, "unknown envelope part \"" + part + "\"");
  if (t.name == "date" || t.name == "currentdate") {
    auto part = lower(call.positional[t.name == "date" ? 1 : 0]->strings[0]);
    if (!kDateParts.count(part) && !(has_variables(s) && part.find("${") != std::string::npos))
      throw Error(t.line, "unknown date part \"" + part + "\"");
  }
  if (call.has("last") && !call.has("index") && t.name != "duplicate") throw Error(t.line, ":last needs :index");
  for (const auto& sub : t.tests) check_test(sub, s, ck);
}

void check_commands(const std::vector<Command>& cmds, Script& s, bool top, bool& past_require, std::vector<std::string>& warnings,
                    Checks& ck) {
  const Command* prev = nullptr;
  for (const auto& c : cmds) {
    const Sig* sig = find(commands_table(), c.name);
    if (!sig) throw Error(c.line, "unknown command \"" + c.name + "\"");
    if (c.name == "require") {
      if (!top || past_require) throw Error(c.line, "require must come before any other command");
      auto call = sort_args(*sig, c.args, c.line, nullptr);
      for (const auto& e : call.positional[0]->strings) {
        auto name = lower(e);
        if (std::find(extensions().begin(), extensions().end(), name) == extensions().end() && name != "comparator-i;octet" &&
            name != "comparator-i;ascii-casemap")
          throw Error(c.line, "unsupported extension \"" + e + "\"");
        s.require.insert(name);
        if (name == "vacation-seconds") s.require.insert("vacation");  // RFC 6131 3
        if (name == "spamtestplus") s.require.insert("spamtest");      // RFC 5235 3.2
      }
      if (!c.tests.empty() || c.has_block) throw Error(c.line, "require takes no tests or block");
      prev = &c;
      continue;
    }
    past_require = true;
    if (sig->ext && !s.require.count(sig->ext)) throw Error(c.line, c.name + " needs require \"" + sig->ext + "\"");
    auto call = sort_args(*sig, c.args, c.line, &s);
    if (sig->tests == 0 && !c.tests.empty()) throw Error(c.line, c.name + " takes no test");
    if (sig->tests == 1 && c.tests.size() != 1) throw Error(c.line, c.name + " needs one test");
    if (sig->block && !c.has_block) throw Error(c.line, c.name + " needs a block");
    if (!sig->block && c.has_block) throw Error(c.line, c.name + " takes no block");
    if ((c.name == "elsif" || c.name == "else") && (!prev || (prev->name != "if" && prev->name != "elsif")))
      throw Error(c.line, c.name + " must follow if or elsif");
    if (c.name == "deleteheader" || c.name == "addheader") check_match(call, s, c.line, ck);
    if (c.name == "set") {
      auto name = call.positional[0]->strings[0];
      bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
      for (char ch : name) ok &= std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.';
      if (!ok) throw Error(c.line, "invalid variable name \"" + name + "\"");
    }
    if (c.name == "vacation" && call.has("days") && call.tags["days"].number == 0)
      warnings.push_back("line " + std::to_string(c.line) + ": :days 0 is taken as 1 day");
    if (c.name == "redirect" && call.positional[0]->strings[0].find('@') == std::string::npos &&
        call.positional[0]->strings[0].find("${") == std::string::npos)
      throw Error(c.line, "redirect needs an address with a domain");
    for (const auto& t : c.tests) check_test(t, s, ck);
    check_commands(c.block, s, false, past_require, warnings, ck);
    prev = &c;
  }
}

// Applies encoded-character to every string of the tree.
void expand_all(std::vector<Arg>& args) {
  for (auto& a : args)
    for (auto& str : a.strings)
      if (!expand_encoded(str)) throw Error(a.line, "invalid encoded character in \"" + str + "\"");
}
void expand_tests(std::vector<Test>& tests) {
  for (auto& t : tests) {
    expand_all(t.args);
    expand_tests(t.tests);
  }
}
void expand_commands(std::vector<Command>& cmds) {
  for (auto& c : cmds) {
    expand_all(c.args);
    expand_tests(c.tests);
    expand_commands(c.block);
  }
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

bool expand_encoded(std::string& s) {
  if (s.find("${") == std::string::npos) return true;
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "${") != 0) {
      out += s[i++];
      continue;
    }
    auto close = s.find('}', i);
    auto colon = s.find(':', i);
    if (close == std::string::npos || colon == std::string::npos || colon > close) {
      out += s[i++];
      continue;
    }
    auto kind = lower(s.substr(i + 2, colon - i - 2));
    if (kind != "hex" && kind != "unicode") {
      out += s[i++];
      continue;
    }
    std::string body = s.substr(colon + 1, close - colon - 1);
    std::string decoded;
    std::size_t p = 0;
    bool ok = true;
    while (p < body.size()) {
      while (p < body.size() && (body[p] == ' ' || body[p] == '\t')) ++p;
      auto b = p;
      while (p < body.size() && std::isxdigit(static_cast<unsigned char>(body[p]))) ++p;
      if (p == b) {
        if (p < body.size()) ok = false;
        break;
      }
      std::uint32_t v = 0;
      auto [ptr, ec] = std::from_chars(body.data() + b, body.data() + p, v, 16);
      if (ec != std::errc() || p - b > 8) return false;
      if (kind == "hex") {
        if (v > 0xFF) return false;
        decoded += static_cast<char>(v);
      } else {
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;  // RFC 5228 2.4.2.4: an error
        append_utf8(decoded, v);
      }
    }
    if (!ok) {  // not a valid encoding: kept as it is
      out += s[i++];
      continue;
    }
    out += decoded;
    i = close + 1;
  }
  s = std::move(out);
  return true;
}

Call call_of(const Command& c) { return sort_args(*find(commands_table(), c.name), c.args, c.line, nullptr); }
Call call_of(const Test& t) { return sort_args(*find(tests_table(), t.name), t.args, t.line, nullptr); }

Parsed parse(std::string_view text, const Limits& limits) {
  Parsed out;
  if (text.size() > limits.max_script_size) {
    out.error = "line 1: script larger than " + std::to_string(limits.max_script_size) + " bytes";
    return out;
  }
  try {
    auto script = std::make_shared<Script>();
    Parser p(text, limits);
    script->commands = p.commands(true, 0);
    bool past_require = false;
    Checks ck{limits, {}, 0};
    check_commands(script->commands, *script, true, past_require, out.warnings, ck);
    if (script->require.count("encoded-character")) {
      expand_commands(script->commands);
      // Once more on the decoded strings: a regex written with ${hex:…} is checked as it runs.
      std::vector<std::string> again;
      past_require = false;
      check_commands(script->commands, *script, true, past_require, again, ck);
    }
    out.script = std::move(script);
  } catch (const Error& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace mailstead::sieve

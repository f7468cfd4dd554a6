// :regex keys on RE2 (see regex.hpp). RE2 runs in its POSIX mode with leftmost-longest
// matching, `^`/`$` at the ends of the subject and `.` matching a newline, as regexec does
// without REG_NEWLINE; Perl's \d \s \w \b are allowed.
#include "sieve/regex.hpp"

#include <re2/re2.h>

#include <list>
#include <mutex>
#include <unordered_map>

namespace mailstead::sieve {

namespace {

// What RE2 would read differently from POSIX ERE (or from GNU regcomp, which scripts were
// written against) is refused rather than matched another way. RE2 reports the rest.
std::string refused_construct(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return "";  // RE2: trailing backslash
      char n = p[++i];
      if (n >= '1' && n <= '9')
        return std::string("back-references (\\") + n + ") are not supported: matching must take linear time";
      if (n == '<' || n == '>' || n == '`' || n == '\'')
        return std::string("\\") + n + " is not supported; use \\b for a word boundary, ^ and $ for the ends";
      continue;
    }
    if (c == '{' && i + 1 < p.size() && p[i + 1] == ',') return "{,n} is not supported; write {0,n}";
    if (c != '[') continue;
    std::size_t j = i + 1;
    if (j < p.size() && p[j] == '^') ++j;
    if (j < p.size() && p[j] == ']') ++j;  // a leading ] is a literal
    for (; j < p.size() && p[j] != ']'; ++j) {
      if (p[j] == '\\') {
        ++j;
        continue;
      }
      if (p[j] != '[' || j + 1 >= p.size()) continue;
      if (p[j + 1] == '=' || p[j + 1] == '.')
        return "equivalence classes and collating elements ([=a=], [.a.]) are not supported";
      if (p[j + 1] == ':')
        if (auto end = p.find(":]", j + 2); end != std::string_view::npos) j = end + 1;
    }
    i = j;
  }
  return "";
}

// The pattern as an error message shows it: at most 60 bytes, cut on a UTF-8 boundary.
std::string shown(std::string_view p) {
  if (p.size() <= 60) return std::string(p);
  std::size_t n = 60;
  while (n > 0 && (static_cast<unsigned char>(p[n]) & 0xC0) == 0x80) --n;
  return std::string(p.substr(0, n)) + "...";
}

}  // namespace

Regex::Regex(std::string_view pattern, bool icase, const Limits& limits) {
  auto refuse = [&](const std::string& why) { error_ = "invalid regular expression \"" + shown(pattern) + "\": " + why; };
  if (pattern.size() > limits.max_regex_length) {
    refuse("longer than " + std::to_string(limits.max_regex_length) + " bytes");
    return;
  }
  if (auto why = refused_construct(pattern); !why.empty()) {
    refuse(why);
    return;
  }
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingUTF8);
  o.set_posix_syntax(true);
  o.set_longest_match(true);
  o.set_perl_classes(true);
  o.set_word_boundary(true);
  o.set_one_line(true);
  o.set_dot_nl(true);
  o.set_case_sensitive(!icase);
  o.set_log_errors(false);
  o.set_max_mem(limits.max_regex_memory);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), o);
  if (!re->ok()) {
    switch (re->error_code()) {
      case RE2::ErrorRepeatSize:
        refuse("repetition " + re->error_arg() + " too large (at most 1000, nested counts multiplied)");
        break;
      case RE2::ErrorPatternTooLarge:
        refuse("compiles to more than " + std::to_string(limits.max_regex_memory) + " bytes");
        break;
      case RE2::ErrorBadUTF8: refuse("not UTF-8"); break;
      default: refuse(re->error());
    }
    return;
  }
  re_ = std::move(re);
  // RE2 keeps its program and its DFA state caches within max_mem; its parse tree grows
  // with the pattern's length.
  cost_ = static_cast<std::size_t>(limits.max_regex_memory) + 64 * pattern.size() + 1024;
}

Regex::~Regex() = default;

std::size_t Regex::program_bytes() const {
  return re_ ? 16 * static_cast<std::size_t>(re_->ProgramSize()) : 0;  // RE2's Prog::Inst is 16 bytes
}

bool Regex::search(std::string_view subject, std::vector<std::string>* groups) const {
  if (!re_) return false;
  re2::StringPiece text(subject.data(), subject.size());
  if (!groups) return re_->Match(text, 0, text.size(), RE2::UNANCHORED, nullptr, 0);
  constexpr int kGroups = 10;  // ${0} to ${9} (RFC 5229 3.2)
  int n = std::min(kGroups, 1 + re_->NumberOfCapturingGroups());
  re2::StringPiece m[kGroups];
  if (!re_->Match(text, 0, text.size(), RE2::UNANCHORED, m, n)) return false;
  groups->clear();
  for (int i = 0; i < kGroups; ++i)
    groups->push_back(i < n && m[i].data() ? std::string(m[i].data(), m[i].size()) : std::string());
  return true;
}

namespace {

struct Cache {
  struct Entry {
    std::string key;
    std::shared_ptr<const Regex> re;
  };
  std::mutex mu;
  std::list<Entry> lru;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views of Entry::key
  std::size_t bytes = 0;

  void evict_to(std::size_t budget) {
    while (bytes > budget && !lru.empty()) {
      bytes -= lru.back().re->cost();
      index.erase(lru.back().key);
      lru.pop_back();
    }
  }
};

Cache& cache() {
  static Cache c;
  return c;
}

}  // namespace

std::shared_ptr<const Regex> cached_regex(std::string_view pattern, bool icase, const Limits& limits) {
  // The same pattern compiles differently with another case rule or memory bound.
  std::string key = (icase ? "i" : "c") + std::to_string(limits.max_regex_memory) + ":" + std::string(pattern);
  auto& c = cache();
  {
    std::lock_guard lock(c.mu);
    if (auto it = c.index.find(key); it != c.index.end()) {
      c.lru.splice(c.lru.begin(), c.lru, it->second);
      return it->second->re;
    }
  }
  // Compiled outside the lock: RE2 bounds the work, and other lookups need not wait.
  auto re = std::make_shared<const Regex>(pattern, icase, limits);
  if (!re->ok() || re->cost() > limits.regex_cache_size) return re;
  std::lock_guard lock(c.mu);
  if (auto it = c.index.find(key); it != c.index.end()) return it->second->re;  // another thread won
  c.lru.push_front({std::move(key), re});
  c.index.emplace(c.lru.front().key, c.lru.begin());
  c.bytes += re->cost();
  c.evict_to(limits.regex_cache_size);
  return re;
}

RegexCacheStats regex_cache_stats() {
  auto& c = cache();
  std::lock_guard lock(c.mu);
  return {c.lru.size(), c.bytes};
}

void clear_regex_cache() {
  auto& c = cache();
  std::lock_guard lock(c.mu);
  c.evict_to(0);
}

}  // namespace mailstead::sieve

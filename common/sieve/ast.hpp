// The parsed form of a Sieve script (RFC 5228 8.2), shared by the parser and interpreter.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace mailstead::sieve {

struct Arg {
  enum class Kind { tag, number, strings };
  Kind kind = Kind::strings;
  std::string tag;  // lower case, without ':'
  std::uint64_t number = 0;
  std::vector<std::string> strings;
  bool list = false;  // written as [ ... ]
  int line = 0;
};

struct Test {
  std::string name;  // lower case
  std::vector<Arg> args;
  std::vector<Test> tests;
  int line = 0;
};

struct Command {
  std::string name;  // lower case
  std::vector<Arg> args;
  std::vector<Test> tests;  // if/elsif: one
  std::vector<Command> block;
  bool has_block = false;
  int line = 0;
};

class Regex;

struct Script {
  std::vector<Command> commands;
  std::set<std::string> require;  // extensions named in require

  // A :regex key compiled once and shared by every run of this script, on any thread
  // (glibc's regexec may be called concurrently). Keys built from variables vary per
  // message: past a few hundred entries they are compiled for the one use.
  std::shared_ptr<const Regex> regex(const std::string& pattern, bool icase) const;

 private:
  mutable std::mutex regex_mu_;
  mutable std::map<std::pair<std::string, bool>, std::shared_ptr<const Regex>> regexes_;
};

// A command's or test's arguments sorted out against its signature: tags with their values,
// then the positional arguments in order. The parser has checked them against the table, so
// the interpreter reads them without checking again.
struct Call {
  std::map<std::string, Arg> tags;  // "comparator" → its string, "over" → the tag itself, ...
  std::vector<const Arg*> positional;
  bool has(const std::string& tag) const { return tags.count(tag) != 0; }
  const std::string& str(const std::string& tag) const { return tags.at(tag).strings.at(0); }
};

}  // namespace mailstead::sieve

namespace mailstead::sieve {
struct Command;
struct Test;
Call call_of(const Command& c);
Call call_of(const Test& t);
// Expands ${hex:...} and ${unicode:...} (RFC 5228 2.4.2.4); false on a bad sequence.
bool expand_encoded(std::string& s);
}  // namespace mailstead::sieve

namespace mailstead::sieve {
// A POSIX extended regular expression (libc's regcomp, as the regex draft asks), compiled.
class Regex {
 public:
  Regex(const std::string& pattern, bool icase);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  bool ok() const { return ok_; }
  // Searches `subject`; on a match fills `groups` (0 = the whole match, up to 9 more).
  bool search(const std::string& subject, std::vector<std::string>* groups) const;

 private:
  void* re_;  // regex_t
  bool ok_ = false;
};
}  // namespace mailstead::sieve

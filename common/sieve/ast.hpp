// The parsed form of a Sieve script (RFC 5228 8.2), shared by the parser and interpreter.
#pragma once

#include <cstdint>
#include <map>
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

struct Script {
  std::vector<Command> commands;
  std::set<std::string> require;  // extensions named in require
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

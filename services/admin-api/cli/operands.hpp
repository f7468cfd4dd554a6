#pragma once
// Operand and option helpers shared by the CLI's command families (streams.cpp, lists.cpp):
// a mistake on the command line throws Usage, which the family's runner prints with its usage.
#include <string>

#include "cli/cli.hpp"

namespace mailstead::cli::operands {

struct Usage {
  std::string text;
};

inline const std::string& operand(const Args& a, std::size_t i, const char* name) {
  if (a.words.size() <= i) throw Usage{std::string("missing ") + name};
  return a.words[i];
}
inline void expect_operands(const Args& a, std::size_t n) {
  if (a.words.size() > n) throw Usage{"unexpected argument '" + a.words[n] + "'"};
}
inline std::string opt(const Args& a, const std::string& name) {
  auto it = a.opts.find(name);
  return it == a.opts.end() ? "" : it->second;
}

}  // namespace mailstead::cli::operands

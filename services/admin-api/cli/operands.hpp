#pragma once
// Operand and option helpers shared by the CLI's command families (main.cpp, streams.cpp,
// lists.cpp, inbound.cpp, outbound.cpp, stream_forward.cpp): a mistake on the command line
// throws Usage, which the family's runner prints with its usage line (usage_error).
#include <cstdio>
#include <string>

#include "cli/cli.hpp"
#include "util/error.hpp"

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
inline std::string opt(const Args& a, const std::string& name, const std::string& def = "") {
  auto it = a.opts.find(name);
  return it == a.opts.end() ? def : it->second;
}

// A refused operation: its message on stderr, exit status 1.
inline int fail(const Error& e) {
  std::fprintf(stderr, "mailstead: %s\n", e.message.c_str());
  return 1;
}
// A command-line mistake: what is wrong and the command's usage line, exit status 2.
inline int usage_error(const Usage& u, const char* usage) {
  std::fprintf(stderr, "mailstead: %s (usage: mailstead %s)\n", u.text.c_str(), usage);
  return 2;
}

}  // namespace mailstead::cli::operands

// LIST/LSUB pattern matching (RFC 3501 6.3.8, RFC 9051 6.3.9): "*" matches any run of
// characters, "%" any run without the hierarchy delimiter. The pattern is a position
// automaton whose set of live states advances one name byte at a time, 64 states per
// machine word: no backtracking, so "*q*q*q…Z" costs what "*" costs, and a name of n bytes
// against a pattern of m bytes takes n × m/64 word operations.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::imap {

class ListPattern {
 public:
  explicit ListPattern(std::string_view pattern, char delimiter = '/');
  bool matches(std::string_view name) const;

 private:
  using Bits = std::vector<std::uint64_t>;  // a set of states 0..size
  std::size_t size_ = 0;                   // pattern bytes after folding wildcard runs
  std::size_t words_ = 0;
  char delimiter_;
  Bits star_, percent_;                    // positions holding "*", "%"
  std::array<std::uint16_t, 256> literal_{};  // byte → index into literals_ + 1; 0: none
  std::vector<Bits> literals_;             // positions holding that byte
};

}  // namespace mailstead::imap

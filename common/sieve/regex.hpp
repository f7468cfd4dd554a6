// :regex match type (draft-ietf-sieve-regex) on RE2: matching takes time linear in the
// subject, a compiled pattern uses at most Limits::max_regex_memory, and compiled patterns
// are shared by every script and thread through one cache bounded by size. POSIX extended
// syntax as RE2's POSIX mode reads it; what RE2 would read differently from POSIX (back-
// references, GNU anchors, collating elements) is refused with a reason (docs/sieve.md).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/sieve.hpp"

namespace re2 {
class RE2;
}

namespace mailstead::sieve {

class Regex {
 public:
  // Compiles `pattern` within `limits`; when it is refused, ok() is false and error() says
  // why ("invalid regular expression \"…\": …").
  Regex(std::string_view pattern, bool icase, const Limits& limits);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  bool ok() const { return re_ != nullptr; }
  const std::string& error() const { return error_; }
  // Searches `subject` (leftmost-longest, as POSIX); on a match fills `groups` when given
  // (0 = the whole match, up to 9 more; a group that took no part is "").
  bool search(std::string_view subject, std::vector<std::string>* groups) const;
  // What this pattern may cost in memory at most, as the cache counts it.
  std::size_t cost() const { return cost_; }
  // The size of its compiled program (which compiling took time in proportion to).
  std::size_t program_bytes() const;

 private:
  std::unique_ptr<re2::RE2> re_;
  std::string error_;
  std::size_t cost_ = 0;
};

// The compiled pattern from the process-wide cache, compiling it on a miss. The cache keeps
// the most recently used patterns whose costs add up to at most limits.regex_cache_size; a
// refused pattern is returned (for its error) but not kept.
std::shared_ptr<const Regex> cached_regex(std::string_view pattern, bool icase, const Limits& limits);

struct RegexCacheStats {
  std::size_t entries = 0;
  std::size_t bytes = 0;  // the sum of the entries' cost()
};
RegexCacheStats regex_cache_stats();
void clear_regex_cache();  // tests

}  // namespace mailstead::sieve

// The word-at-a-time byte scans (util/scan.hpp) against the plain byte loops they replace,
// at every length and offset around the 8-byte words and the 255-word count blocks.
#include "util/scan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace mailstead::util {
namespace {

std::size_t slow_find(std::string_view s, std::size_t from, bool nul) {
  for (auto i = from; i < s.size(); ++i)
    if (s[i] == '\r' || s[i] == '\n' || (nul && s[i] == '\0')) return i;
  return std::string_view::npos;
}

TEST(Scan, CountByteMatchesCount) {
  std::string s;
  for (std::size_t n = 0; n < 8 * 255 * 2 + 40; ++n) {
    // Dense and sparse runs, bytes with the high bit set, the byte itself at word edges.
    s.push_back(n % 7 == 0 || n % 97 == 3 ? '\n' : static_cast<char>(n % 5 == 0 ? 0x8a : 'a' + n % 26));
    std::string_view v(s);
    for (std::size_t off : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
      if (off > v.size()) continue;
      auto w = v.substr(off);
      ASSERT_EQ(count_byte(w, '\n'), static_cast<std::size_t>(std::count(w.begin(), w.end(), '\n'))) << n << " " << off;
    }
  }
  EXPECT_EQ(count_byte(std::string(5000, '\n'), '\n'), 5000u);  // every counter full
  EXPECT_EQ(count_byte(std::string(5000, '\x8a'), '\n'), 0u);
  EXPECT_EQ(count_byte("", '\n'), 0u);
}

TEST(Scan, FindLineByteMatchesLoop) {
  for (char target : {'\r', '\n', '\0'}) {
    for (std::size_t len = 0; len < 40; ++len) {
      for (std::size_t at = 0; at <= len; ++at) {
        std::string s(len, 'x');
        if (at < len) s[at] = target;
        if (len > 3) s[1] = static_cast<char>(0x8d);  // '\r' with the high bit: not a CR
        for (std::size_t from = 0; from <= len; ++from) {
          for (bool nul : {false, true}) {
            ASSERT_EQ(find_line_byte(s, from, nul), slow_find(s, from, nul)) << len << " " << at << " " << from;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace mailstead::util

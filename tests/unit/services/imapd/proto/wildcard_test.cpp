// LIST wildcards (issue 10.2): the automaton agrees with the RFC's definition on every
// small case, and the patterns that made the old backtracking matcher exponential finish.
#include "proto/wildcard.hpp"

#include <gtest/gtest.h>

#include <random>

namespace mailstead::imap {

namespace {
// The definition, by backtracking (exponential in the worst case: small inputs only).
bool reference(std::string_view p, std::string_view n) {
  if (p.empty()) return n.empty();
  if (p[0] == '*' || p[0] == '%') {
    for (std::size_t i = 0; i <= n.size(); ++i) {
      if (reference(p.substr(1), n.substr(i))) return true;
      if (i < n.size() && p[0] == '%' && n[i] == '/') return false;
    }
    return false;
  }
  return !n.empty() && p[0] == n[0] && reference(p.substr(1), n.substr(1));
}
}  // namespace

TEST(ListPattern, Examples) {
  EXPECT_TRUE(ListPattern("*").matches("a/b/c"));
  EXPECT_TRUE(ListPattern("%").matches("abc"));
  EXPECT_FALSE(ListPattern("%").matches("a/b"));
  EXPECT_TRUE(ListPattern("a/%").matches("a/b"));
  EXPECT_FALSE(ListPattern("a/%").matches("a/b/c"));
  EXPECT_TRUE(ListPattern("a/*").matches("a/b/c"));
  EXPECT_TRUE(ListPattern("%/%").matches("a/b"));
  EXPECT_TRUE(ListPattern("").matches(""));
  EXPECT_FALSE(ListPattern("").matches("a"));
  EXPECT_TRUE(ListPattern("Sent").matches("Sent"));
  EXPECT_FALSE(ListPattern("Sent").matches("sent"));
  EXPECT_TRUE(ListPattern("%*%").matches("x/y"));
  EXPECT_TRUE(ListPattern("*%").matches("x/y"));
  EXPECT_FALSE(ListPattern("%%").matches("x/y"));
  EXPECT_TRUE(ListPattern("Ent&w*").matches("Ent&wurf"));
}

TEST(ListPattern, AgreesWithTheDefinition) {
  std::mt19937 rng(7);
  const char alphabet[] = {'a', 'b', '/', '*', '%'};
  for (int round = 0; round < 200000; ++round) {
    std::string p, n;
    int pl = static_cast<int>(rng() % 8), nl = static_cast<int>(rng() % 9);
    for (int i = 0; i < pl; ++i) p += alphabet[rng() % 5];
    for (int i = 0; i < nl; ++i) n += alphabet[rng() % 3];
    ASSERT_EQ(ListPattern(p).matches(n), reference(p, n)) << "pattern " << p << " name " << n;
  }
}

TEST(ListPattern, LongPatternsAcrossWordBoundaries) {
  // states past 64 and 128: the carries between words
  std::string name(150, 'a'), pattern;
  for (int i = 0; i < 150; ++i) pattern += i % 3 == 0 ? "%a" : "a";
  EXPECT_EQ(ListPattern(pattern).matches(name), reference(pattern, name));
  EXPECT_TRUE(ListPattern(std::string(70, 'a') + "*" + std::string(70, 'a')).matches(std::string(200, 'a')));
  EXPECT_FALSE(ListPattern(std::string(70, 'a') + "%" + std::string(70, 'a')).matches(std::string(100, 'a') + "/" +
                                                                                       std::string(100, 'a')));
  EXPECT_TRUE(ListPattern(std::string(63, 'a') + "*b").matches(std::string(80, 'a') + "b"));
}

TEST(ListPattern, BacktrackingBombsFinish) {
  // "*q*q*q…Z" against a 200-byte name took the recursive matcher minutes; "%" the same.
  std::string bomb, pct;
  for (int i = 0; i < 300; ++i) {
    bomb += "*q";
    pct += "%q";
  }
  bomb += "Z";
  pct += "Z";
  std::string name(400, 'q');
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(ListPattern(bomb).matches(name));
    EXPECT_FALSE(ListPattern(pct).matches(name));
  }
  EXPECT_TRUE(ListPattern(bomb).matches(name + "Z"));
}

}  // namespace mailstead::imap

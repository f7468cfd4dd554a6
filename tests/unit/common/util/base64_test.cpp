#include "util/base64.hpp"

#include <gtest/gtest.h>

namespace mailstead {

TEST(Base64, RoundTrip) {
  for (std::string s : std::initializer_list<std::string>{"", "a", "ab", "abc", std::string("\0user\0pass", 10)}) EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_decode("AGFsaWNlAHB3"), std::string("\0alice\0pw", 9));
}

TEST(Base64, RejectsNonCanonical) {
  for (const char* bad : {"abc", "ab=c", "a===", "@@@@", "YWJj\n", "YW Jj"}) EXPECT_FALSE(base64_decode(bad)) << bad;
}

}  // namespace mailstead

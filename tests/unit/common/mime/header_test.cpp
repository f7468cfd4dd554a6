#include "mime/header.hpp"

#include <gtest/gtest.h>

namespace mailstead::mime {

TEST(Header, EndOfHeader) {
  EXPECT_EQ(header_end("A: b\r\n\r\nbody"), 8u);
  EXPECT_EQ(header_end("A: b\r\nC: d\r\n"), 12u);
  EXPECT_EQ(header_end("\r\nbody"), 2u);
}

TEST(Header, FieldValuesUnfolded) {
  std::string h = "From: a@x\r\nSubject: one\r\n two\r\nfrom:  b@x \r\nX-From: c@x\r\n\r\n";
  EXPECT_EQ(field_values(h, "From"), (std::vector<std::string>{"a@x", "b@x"}));
  EXPECT_EQ(field_values(h, "SUBJECT"), (std::vector<std::string>{"one two"}));
  EXPECT_TRUE(field_values(h, "To").empty());
}

TEST(Header, AddressLists) {
  EXPECT_EQ(parse_address_list("alice@example.test"), (std::vector<std::string>{"alice@example.test"}));
  EXPECT_EQ(parse_address_list("\"Smith, John\" <john@x.test>, Jane <jane@x.test>"),
            (std::vector<std::string>{"john@x.test", "jane@x.test"}));
  EXPECT_EQ(parse_address_list("a@x.test (Alice, the boss)"), (std::vector<std::string>{"a@x.test"}));
  EXPECT_EQ(parse_address_list("undisclosed-recipients:;"), (std::vector<std::string>{}));
  EXPECT_EQ(parse_address_list("team: a@x.test, b@x.test;, c@x.test"),
            (std::vector<std::string>{"a@x.test", "b@x.test", "c@x.test"}));
  EXPECT_EQ(parse_address_list("\"<evil@x.test>\" <real@x.test>"), (std::vector<std::string>{"real@x.test"}));
  EXPECT_EQ(parse_address_list("Bob <bob@x.test> (comment <not@x.test>)"), (std::vector<std::string>{"bob@x.test"}));
}

}  // namespace mailstead::mime

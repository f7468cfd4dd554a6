// BODY[section] part numbers (RFC 3501 6.4.5) inside forwarded messages (issue 9.7): a
// message/rfc822 part numbers the parts of the message it holds, also at the top level
// and when forwards nest.
#include "proto/fetch.hpp"

#include <gtest/gtest.h>

#include "mime/mime.hpp"

namespace mailstead::imap {

namespace {
std::optional<std::string> section(const std::string& msg, const std::string& sec, std::string_view prefix = {}) {
  Token t;
  t.text = "BODY[" + sec + "]";
  auto r = parse_fetch_items(t);
  EXPECT_TRUE(std::holds_alternative<std::vector<FetchItem>>(r)) << sec;
  auto root = mime::parse(msg);
  return section_bytes(prefix, msg, root, std::get<std::vector<FetchItem>>(r).front());
}

const std::string deepest =
    "Subject: deepest\r\nContent-Type: multipart/alternative; boundary=d\r\n\r\n"
    "--d\r\n\r\nplain deepest\r\n--d\r\nContent-Type: text/html\r\n\r\nhtml deepest\r\n--d--\r\n";
const std::string middle =
    "Subject: middle\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\r\nmiddle text\r\n"
    "--m\r\nContent-Type: message/rfc822\r\n\r\n" + deepest + "\r\n--m--\r\n";
const std::string outer =
    "Subject: outer\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\nouter text\r\n"
    "--o\r\nContent-Type: message/rfc822\r\n\r\n" + middle + "\r\n--o--\r\n";
}  // namespace

TEST(ImapSections, NestedForwards) {
  EXPECT_EQ(section(outer, "1"), "outer text");
  EXPECT_EQ(section(outer, "2"), middle);
  EXPECT_EQ(section(outer, "2.MIME"), "Content-Type: message/rfc822\r\n\r\n");
  EXPECT_EQ(section(outer, "2.HEADER"), "Subject: middle\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n");
  EXPECT_EQ(section(outer, "2.1"), "middle text");
  EXPECT_EQ(section(outer, "2.2"), deepest);
  EXPECT_EQ(section(outer, "2.2.HEADER"), "Subject: deepest\r\nContent-Type: multipart/alternative; boundary=d\r\n\r\n");
  EXPECT_EQ(section(outer, "2.2.1"), "plain deepest");
  EXPECT_EQ(section(outer, "2.2.2"), "html deepest");
  EXPECT_EQ(section(outer, "2.2.2.MIME"), "Content-Type: text/html\r\n\r\n");
  EXPECT_EQ(section(outer, "2.2.1.MIME"), "\r\n");
  EXPECT_EQ(section(outer, "2.3"), std::nullopt);
  EXPECT_EQ(section(outer, "2.2.3"), std::nullopt);
  EXPECT_EQ(section(outer, "1.1"), std::nullopt) << "a text part has no parts";
}

TEST(ImapSections, ForwardedMessageAtTheTop) {
  // "Forward as attachment" without a covering text: the message itself is message/rfc822.
  std::string inner = "Subject: inner\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\none\r\n--i\r\n"
                      "Content-Type: text/html\r\n\r\ntwo\r\n--i--\r\n";
  std::string top = "Subject: top\r\nContent-Type: message/rfc822\r\n\r\n" + inner;
  EXPECT_EQ(section(top, "1"), inner);
  EXPECT_EQ(section(top, "TEXT"), inner);
  EXPECT_EQ(section(top, "1.HEADER"), "Subject: inner\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n");
  EXPECT_EQ(section(top, "1.1"), "one");
  EXPECT_EQ(section(top, "1.2"), "two");
  EXPECT_EQ(section(top, "1.2.MIME"), "Content-Type: text/html\r\n\r\n");
  EXPECT_EQ(section(top, "1.3"), std::nullopt);
  EXPECT_EQ(section(top, "1.MIME", "Delivered-To: a@b\r\n"),
            "Delivered-To: a@b\r\nSubject: top\r\nContent-Type: message/rfc822\r\n\r\n");
}

TEST(ImapSections, ForwardOfASinglePartMessage) {
  std::string msg = "Subject: s\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\nouter\r\n"
                    "--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--o--\r\n";
  EXPECT_EQ(section(msg, "2.1"), "inner body");
  EXPECT_EQ(section(msg, "2.1.MIME"), "Subject: inner\r\n\r\n");
  EXPECT_EQ(section(msg, "2.TEXT"), "inner body");
  EXPECT_EQ(section(msg, "2.1.1"), std::nullopt);
  EXPECT_EQ(section(msg, "2.2"), std::nullopt);
}

TEST(ImapSections, DigestPartsAreMessages) {
  std::string msg = "Subject: digest\r\nContent-Type: multipart/digest; boundary=g\r\n\r\n--g\r\n\r\n"
                    "Subject: one\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nfirst\r\n--x\r\n\r\nsecond\r\n--x--\r\n"
                    "--g\r\n\r\nSubject: two\r\n\r\nbody two\r\n--g--\r\n";
  EXPECT_EQ(section(msg, "1.2"), "second");
  EXPECT_EQ(section(msg, "2.1"), "body two");
  EXPECT_EQ(section(msg, "2.HEADER"), "Subject: two\r\n\r\n");
}

}  // namespace mailstead::imap

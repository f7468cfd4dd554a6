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

TEST(ImapBinary, ItemsAndLabels) {
  auto one = [](std::string_view text) {
    Token t;
    t.text = std::string(text);
    return parse_fetch_items(t);
  };
  auto b = std::get<std::vector<FetchItem>>(one("BINARY.PEEK[1.2]<0.10>")).front();
  EXPECT_TRUE(b.binary);
  EXPECT_TRUE(b.peek);
  EXPECT_EQ(b.kind, FetchItem::Kind::section);
  EXPECT_EQ(b.label, "BINARY[1.2]<0>");
  auto sz = std::get<std::vector<FetchItem>>(one("binary.size[3]")).front();
  EXPECT_EQ(sz.kind, FetchItem::Kind::binary_size);
  EXPECT_EQ(sz.label, "BINARY.SIZE[3]");
  auto whole = std::get<std::vector<FetchItem>>(one("BINARY[]")).front();
  EXPECT_FALSE(whole.peek);
  EXPECT_TRUE(whole.path.empty());
  for (const char* bad : {"BINARY[1.MIME]", "BINARY[HEADER]", "BINARY[TEXT]", "BINARY.SIZE[1]<0.5>", "BINARY[1.]"})
    EXPECT_TRUE(std::holds_alternative<std::string>(one(bad))) << bad;
}

TEST(ImapBinary, ContentTransferDecoding) {
  std::string msg =
      "Subject: b\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
      "--z\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nsoft=3D\r\n"
      "--z\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n"
      "--z\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
      "--z\r\nContent-Transfer-Encoding: 8bit\r\n\r\nplain \xc3\xa9\r\n--z--\r\n";
  auto root = mime::parse(msg);
  auto bin = [&](const std::string& sec) {
    Token t;
    t.text = "BINARY[" + sec + "]";
    return binary_bytes("", msg, root, std::get<std::vector<FetchItem>>(parse_fetch_items(t)).front());
  };
  EXPECT_EQ(std::get<std::string>(bin("1")), "caf\xc3\xa9 soft=");
  EXPECT_EQ(std::get<std::string>(bin("2")), std::string("\0\1\2\3", 4));
  EXPECT_TRUE(std::holds_alternative<UnknownCte>(bin("3")));
  EXPECT_EQ(std::get<std::string>(bin("4")), "plain \xc3\xa9");
  EXPECT_EQ(std::get<std::string>(bin("")), msg);
  EXPECT_EQ(std::get<std::string>(bin("9")), "");
  EXPECT_EQ(decode_quoted_printable("a=\nb=20=zz="), "ab =zz");
}

}  // namespace mailstead::imap

// ManageSieve framing and parsing, whole and one byte at a time.
#include "proto/protocol.hpp"

#include <gtest/gtest.h>

namespace mailstead::managesieve {

namespace {
Command cmd(std::string_view s) {
  auto r = parse(s);
  EXPECT_TRUE(std::holds_alternative<Command>(r)) << s << ": " << (std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "");
  return std::holds_alternative<Command>(r) ? std::get<Command>(r) : Command{};
}
}  // namespace

TEST(ManageSieveProto, ParsesStringsLiteralsNumbersAndAtoms) {
  auto c = cmd("putscript \"my \\\"rules\\\"\" {12+}\r\nkeep;\r\nstop;\r\n");
  EXPECT_EQ(c.name, "PUTSCRIPT");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0].text, "my \"rules\"");
  EXPECT_EQ(c.args[1].text, "keep;\r\nstop;");
  auto h = cmd("HAVESPACE \"x\" 1024\r\n");
  EXPECT_EQ(h.args[1].kind, Argument::Kind::number);
  EXPECT_EQ(cmd("AUTHENTICATE \"PLAIN\" {4}\r\nAAAA\r\n").args[1].text, "AAAA");
  EXPECT_EQ(cmd("LOGOUT\r\n").args.size(), 0u);
}

TEST(ManageSieveProto, RejectsMalformedInput) {
  for (const char* bad : {"\"x\"\r\n", "PUTSCRIPT \"a\r\n", "GETSCRIPT \"a\\x\"\r\n", "PUTSCRIPT {5+}\r\nab\r\n",
                          "NOOP \"a\"\"b\"\r\n", "NOOP (x)\r\n", "HAVESPACE \"a\" 123456789012\r\n"})
    EXPECT_TRUE(std::holds_alternative<std::string>(parse(bad))) << bad;
}

TEST(ManageSieveProto, FramesWholeAndByteAtATime) {
  std::string in = "PUTSCRIPT \"a\" {7+}\r\nkeep;\r\n\r\nNOOP\r\n";
  auto f = frame(in, 100, 1000);
  ASSERT_EQ(f.status, Frame::Status::complete);
  EXPECT_EQ(in.substr(0, f.end), "PUTSCRIPT \"a\" {7+}\r\nkeep;\r\n\r\n");
  std::size_t complete_at = 0;
  for (std::size_t n = 1; n <= in.size(); ++n) {
    auto g = frame(std::string_view(in).substr(0, n), 100, 1000);
    if (g.status == Frame::Status::complete) {
      complete_at = n;
      EXPECT_EQ(g.end, f.end);
      break;
    }
    EXPECT_EQ(g.status, Frame::Status::need_more) << n;
  }
  EXPECT_EQ(complete_at, f.end);
  EXPECT_EQ(frame("PUTSCRIPT \"a\" {5000+}\r\n", 100, 1000).status, Frame::Status::too_big);
  EXPECT_EQ(frame(std::string(200, 'x'), 100, 1000).status, Frame::Status::too_long);
}

TEST(ManageSieveProto, WritesQuotedOrLiteral) {
  EXPECT_EQ(string_out("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(string_out("two\r\nlines"), "{10}\r\ntwo\r\nlines");
}

}  // namespace mailstead::managesieve

#include "proto/reply.hpp"

#include <gtest/gtest.h>

using namespace mailstead::outbound;

TEST(OutboundReply, MultilineWholeAndByteByByte) {
  std::string in = "250-mx.example.test Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
                   "250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN login\r\n250 ENHANCEDSTATUSCODES\r\n220 next";
  Reply r;
  std::size_t used = 0;
  ASSERT_EQ(parse_reply(in, r, used), ParseStatus::complete);
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.lines.size(), 8u);
  EXPECT_EQ(in.substr(used), "220 next");
  for (std::size_t n = 0; n < used; ++n) {
    Reply partial;
    std::size_t u = 0;
    EXPECT_EQ(parse_reply(std::string_view(in).substr(0, n), partial, u), ParseStatus::need_more) << n;
  }
  auto caps = parse_ehlo(r);
  EXPECT_TRUE(caps.pipelining && caps.starttls && caps.eightbitmime && caps.smtputf8 && caps.enhanced_codes);
  EXPECT_FALSE(caps.chunking);
  EXPECT_EQ(caps.size, 10240000u);
  EXPECT_EQ(caps.auth, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_EQ(r.text().substr(0, 30), "250 mx.example.test Hello PIPE");
}

TEST(OutboundReply, Malformed) {
  Reply r;
  std::size_t used = 0;
  EXPECT_EQ(parse_reply("hello\r\n", r, used), ParseStatus::malformed);
  EXPECT_EQ(parse_reply("250-a\r\n251 b\r\n", r, used), ParseStatus::malformed);
  EXPECT_EQ(parse_reply("999 x\r\n", r, used), ParseStatus::malformed);
  EXPECT_EQ(parse_reply(std::string(5000, '2'), r, used), ParseStatus::malformed);
  EXPECT_EQ(parse_reply("250\r\n", r, used), ParseStatus::complete);
}

TEST(OutboundReply, DotStuffingAndEightBit) {
  EXPECT_EQ(dot_stuff("a\r\n.b\r\n..\r\n"), "a\r\n..b\r\n...\r\n.\r\n");
  EXPECT_EQ(dot_stuff(".x"), "..x\r\n.\r\n");
  EXPECT_FALSE(needs_smtputf8("a@b", {"c@d"}, "Subject: x\r\n\r\nbody \xc3\xa9\r\n"));
  EXPECT_TRUE(has_8bit("body \xc3\xa9"));
  EXPECT_TRUE(needs_smtputf8("a@b", {"c@d"}, "Subject: caf\xc3\xa9\r\n\r\nbody\r\n"));
  EXPECT_TRUE(needs_smtputf8("a@b", {"j\xc3\xb6rg@d"}, "Subject: x\r\n\r\n"));
}

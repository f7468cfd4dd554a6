// Command-line and DATA framing, whole and one byte at a time.
#include "proto/input.hpp"

#include <gtest/gtest.h>

namespace mailstead::smtp {

TEST(NextLine, CrlfOnly) {
  auto r = next_line("NOOP\r\nQUIT\r\n", 100);
  EXPECT_EQ(r.status, LineStatus::line);
  EXPECT_EQ(r.line, "NOOP");
  EXPECT_EQ(r.consumed, 6u);
  EXPECT_EQ(next_line("NOOP", 100).status, LineStatus::need_more);
  EXPECT_EQ(next_line("NOOP\r", 100).status, LineStatus::need_more);
  auto bare = next_line("NOOP\nQUIT\r\n", 100);
  EXPECT_EQ(bare.status, LineStatus::bare_lf);
  EXPECT_EQ(bare.consumed, 5u);
}

TEST(NextLine, TooLong) {
  std::string line(20, 'a');
  EXPECT_EQ(next_line(line + "\r\n", 20).status, LineStatus::line);
  auto r = next_line(line + "a\r\n", 20);
  EXPECT_EQ(r.status, LineStatus::too_long);
  EXPECT_EQ(r.consumed, 23u);
  auto open = next_line(std::string(30, 'a'), 20);
  EXPECT_EQ(open.status, LineStatus::too_long);
  EXPECT_EQ(open.consumed, 30u) << "no LF yet: the bytes are dropped, not buffered";
}

namespace {
struct DataResult {
  std::string message;
  std::size_t consumed = 0;
  bool done = false, too_big = false, bare = false;
};

DataResult whole(std::string_view in, std::uint64_t max = 1 << 20) {
  DataReader r(max);
  DataResult out;
  out.consumed = r.feed(in);
  out.done = r.done();
  out.too_big = r.too_big();
  out.bare = r.bare_newline();
  out.message = r.message();
  return out;
}

DataResult bytewise(std::string_view in, std::uint64_t max = 1 << 20) {
  DataReader r(max);
  DataResult out;
  for (std::size_t i = 0; i < in.size() && !r.done(); ++i) out.consumed += r.feed(in.substr(i, 1));
  out.done = r.done();
  out.too_big = r.too_big();
  out.bare = r.bare_newline();
  out.message = r.message();
  return out;
}

void expect_same(std::string_view in, std::uint64_t max = 1 << 20) {
  auto a = whole(in, max), b = bytewise(in, max);
  EXPECT_EQ(a.message, b.message) << in;
  EXPECT_EQ(a.consumed, b.consumed) << in;
  EXPECT_EQ(a.done, b.done) << in;
  EXPECT_EQ(a.too_big, b.too_big) << in;
  EXPECT_EQ(a.bare, b.bare) << in;
}
}  // namespace

TEST(DataReader, UnstuffsAndStopsAtCrlfDotCrlf) {
  auto r = whole("Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.message, "Subject: x\r\n\r\n.dot\r\n");
  EXPECT_EQ(r.consumed, std::string_view("Subject: x\r\n\r\n..dot\r\n.\r\n").size()) << "pipelined QUIT stays";
  EXPECT_FALSE(r.bare);
  EXPECT_EQ(whole(".\r\n").message, "") << "an empty message";
  EXPECT_TRUE(whole(".\r\n").done);
  EXPECT_EQ(whole("a\r\n.b\r\n.\r\n").message, "a\r\nb\r\n");
}

TEST(DataReader, OnlyCrlfDotCrlfEndsTheMessage) {
  for (const char* smuggle : {"a\n.\nb\r\n.\r\n", "a\r\n.\nb\r\n.\r\n", "a\n.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n.\r\n",
                              "a\r\n.\rb\r\n.\r\n"}) {
    auto r = whole(smuggle);
    EXPECT_TRUE(r.done) << smuggle;
    EXPECT_EQ(r.consumed, std::string_view(smuggle).size()) << "ended early: " << smuggle;
    EXPECT_TRUE(r.bare) << smuggle;
    expect_same(smuggle);
  }
  EXPECT_FALSE(whole("a\r\n.x\r\n").done);
}

TEST(DataReader, SizeLimitKeepsReadingButNotStoring) {
  std::string big = std::string(100, 'a') + "\r\n.\r\n";
  auto r = whole(big, 50);
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.too_big);
  EXPECT_TRUE(r.message.empty());
  EXPECT_FALSE(whole(big, 102).too_big);
  EXPECT_TRUE(whole(big, 101).too_big);
  expect_same(big, 50);
}

TEST(DataReader, WholeAndBytewiseAgree) {
  for (const char* in : {"Subject: x\r\n\r\nbody\r\n.\r\n", "..\r\n...\r\n.\r\n", "\r\n\r\n.\r\n", "x\ry\r\n.\r\n",
                         "x\r\n\r\n..\r\n.\r\nextra", "no end\r\n"})
    expect_same(in);
}

TEST(BareNewlineScanner, AcrossChunks) {
  BareNewlineScanner a;
  a.feed("ok\r");
  a.feed("\nfine\r\n");
  EXPECT_FALSE(a.found(true));
  BareNewlineScanner b;
  b.feed("bad\n");
  EXPECT_TRUE(b.found(false));
  BareNewlineScanner c;
  c.feed("end\r");
  EXPECT_FALSE(c.found(false));
  EXPECT_TRUE(c.found(true)) << "a CR at the very end is bare";
  BareNewlineScanner d;
  d.feed("x\r");
  d.feed("y");
  EXPECT_TRUE(d.found(false));
}

TEST(Reply, Format) {
  EXPECT_EQ(reply(250, "2.1.0", "Ok"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(reply(354, "", "Go"), "354 Go\r\n");
  EXPECT_EQ(reply_lines(250, "", {"host", "PIPELINING", "SIZE 10"}), "250-host\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
}

}  // namespace mailstead::smtp

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

TEST(DataReader, DrainHandsOverWhatIsUnstuffed) {
  DataReader r(1 << 20);
  r.feed("a\r\n..b\r\n");
  EXPECT_EQ(r.drain(), "a\r\n.b\r\n");
  EXPECT_EQ(r.message(), "");
  r.feed("c\r\n.\r\n");
  EXPECT_EQ(r.drain(), "c\r\n");
  EXPECT_TRUE(r.done());
}

namespace {
struct Scan {
  bool bare = false, nul = false, line = false, header = false;
  bool operator==(const Scan&) const = default;
};

Scan scan_whole(std::string_view in, HeaderLimits limits) {
  MessageScanner s(limits);
  s.feed(in);
  s.finish();
  return {s.bare_newline(), s.nul(), s.header_line_too_long(), s.header_too_big()};
}

Scan scan_bytewise(std::string_view in, HeaderLimits limits) {
  MessageScanner s(limits);
  for (std::size_t i = 0; i < in.size(); ++i) s.feed(in.substr(i, 1));
  s.finish();
  return {s.bare_newline(), s.nul(), s.header_line_too_long(), s.header_too_big()};
}

Scan scan(std::string_view in, HeaderLimits limits = {20, 60}) {
  auto a = scan_whole(in, limits);
  EXPECT_EQ(a, scan_bytewise(in, limits)) << in;
  return a;
}
}  // namespace

TEST(MessageScanner, BareLineEndsAcrossChunks) {
  EXPECT_EQ(scan("ok\r\n\r\nfine\r\n"), Scan{});
  EXPECT_TRUE(scan("bad\n").bare);
  EXPECT_TRUE(scan("x\ry").bare);
  EXPECT_TRUE(scan("end\r").bare) << "a CR at the very end is bare";
  MessageScanner split;
  split.feed("ok\r");
  split.feed("\nfine\r\n");
  split.finish();
  EXPECT_FALSE(split.bare_newline());
}

TEST(MessageScanner, NulAnywhere) {
  EXPECT_TRUE(scan(std::string_view("Subject: a\0b\r\n\r\nbody\r\n", 22)).nul);
  EXPECT_TRUE(scan(std::string_view("Subject: a\r\n\r\nbo\0dy\r\n", 22)).nul);
  EXPECT_FALSE(scan("Subject: a\r\n\r\nbody\r\n").nul);
}

TEST(MessageScanner, HeaderLineLimit) {
  // 20 bytes per header line, without CRLF; body lines are not limited.
  EXPECT_FALSE(scan("Subject: 12345678901\r\n\r\nbody\r\n").line);  // 20 bytes
  EXPECT_TRUE(scan("Subject: 123456789012\r\n\r\nbody\r\n").line);  // 21 bytes
  EXPECT_FALSE(scan("A: b\r\n\r\n" + std::string(500, 'x') + "\r\n").line);
  EXPECT_TRUE(scan("A: b\r\n " + std::string(30, 'x') + "\r\n\r\nbody\r\n").line) << "a folded line counts alone";
  EXPECT_TRUE(scan(std::string(30, 'x')).line) << "no blank line: all of it is header";
}

TEST(MessageScanner, HeaderSizeLimit) {
  // 60 bytes of header, up to and including the blank line.
  std::string field = "A: 123456789012345\r\n";  // 20 bytes
  EXPECT_FALSE(scan(field + field + "B: 1234567890123\r\n\r\n" + std::string(500, 'x')).header);  // 60
  EXPECT_TRUE(scan(field + field + "B: 12345678901234\r\n\r\nbody").header);                     // 61
  EXPECT_TRUE(scan(field + field + field + field).header);
}

namespace {
// A message with lines longer than a scan word, stuffed dots, a bare CR, a bare LF and a NUL
// deep in the body, so the word-at-a-time scans meet each at every alignment.
std::string long_lines_message(bool clean) {
  std::string m = "Subject: a long line header field for the word scans\r\n\r\n";
  for (int i = 0; i < 12; ++i) {
    m += std::string(static_cast<std::size_t>(i * 5 + 1), static_cast<char>('a' + i)) + "\r\n";
    if (i % 4 == 0) m += "..stuffed dot line\r\n";
  }
  if (!clean) m += std::string("x\ry and w\nz and a ") + '\0' + " nul\r\n";
  return m + ".\r\n";
}
}  // namespace

TEST(DataReader, SplitAnywhereAgreesWithWhole) {
  for (bool clean : {true, false}) {
    auto in = long_lines_message(clean);
    auto all = whole(in);
    ASSERT_TRUE(all.done);
    EXPECT_EQ(all.bare, !clean);
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
      DataReader r(1 << 20);
      std::string out;
      auto first = r.feed(std::string_view(in).substr(0, cut));
      out += r.message();
      r.message().clear();  // how the session empties it, keeping its capacity
      auto second = r.done() ? 0 : r.feed(std::string_view(in).substr(first));
      out += r.message();
      ASSERT_EQ(out, all.message) << cut;
      ASSERT_EQ(first + second, all.consumed) << cut;
      ASSERT_EQ(r.bare_newline(), all.bare) << cut;
    }
    // Too big at every size around the end of a line.
    for (std::uint64_t max = 50; max < 120; ++max) expect_same(in, max);
  }
}

TEST(MessageScanner, SplitAnywhereAgreesWithWhole) {
  for (bool clean : {true, false}) {
    auto in = long_lines_message(clean);
    in.resize(in.size() - 3);  // the message, without the DATA terminator
    auto all = scan(in, {});
    EXPECT_EQ(all.bare, !clean);
    EXPECT_EQ(all.nul, !clean);
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
      MessageScanner s;
      s.feed(std::string_view(in).substr(0, cut));
      s.feed(std::string_view(in).substr(cut));
      s.finish();
      ASSERT_EQ((Scan{s.bare_newline(), s.nul(), s.header_line_too_long(), s.header_too_big()}), all) << cut;
    }
  }
}

TEST(Reply, Format) {
  EXPECT_EQ(reply(250, "2.1.0", "Ok"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(reply(354, "", "Go"), "354 Go\r\n");
  EXPECT_EQ(reply_lines(250, "", {"host", "PIPELINING", "SIZE 10"}), "250-host\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
}

}  // namespace mailstead::smtp

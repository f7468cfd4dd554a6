// The IMAP poller's response core: framing with literals, whole and one byte at a time; the
// limits a hostile server meets; status, SEARCH, EXISTS, CAPABILITY and FETCH parsing.
#include <gtest/gtest.h>

#include "poll/imap_response.hpp"

namespace mailstead::poll {
namespace {

// Frames every response of `wire`, fed whole and then one byte at a time (the results must
// agree, as a socket may split anywhere).
std::vector<Frame> frames(std::string_view wire, const Limits& limits = {}) {
  std::vector<Frame> whole;
  std::string buf(wire);
  for (;;) {
    Frame f;
    auto r = frame_response(buf, limits, f);
    if (r.status != FrameStatus::complete) break;
    buf.erase(0, r.consumed);
    whole.push_back(f);
  }
  std::vector<Frame> bytewise;
  buf.clear();
  for (char c : wire) {
    buf += c;
    Frame f;
    auto r = frame_response(buf, limits, f);
    if (r.status == FrameStatus::complete) {
      buf.erase(0, r.consumed);
      bytewise.push_back(f);
    }
  }
  EXPECT_EQ(whole.size(), bytewise.size());
  for (std::size_t i = 0; i < whole.size() && i < bytewise.size(); ++i) {
    EXPECT_EQ(whole[i].text, bytewise[i].text);
    EXPECT_EQ(whole[i].literals, bytewise[i].literals);
  }
  return whole;
}

TEST(ImapResponse, FramesLinesAndLiterals) {
  auto fs = frames(
      "* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n"
      "* 1 FETCH (UID 7 BODY[] {11}\r\nhello\r\nworl FLAGS (\\Seen))\r\n"
      "m1 OK done\r\n");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].text, "* OK [CAPABILITY IMAP4rev1 IDLE] ready");
  ASSERT_EQ(fs[1].literals.size(), 1u);
  EXPECT_EQ(fs[1].literals[0], "hello\r\nworl");
  EXPECT_EQ(fs[1].text, "* 1 FETCH (UID 7 BODY[] {11} FLAGS (\\Seen))");
  auto d = parse_fetch(fs[1]);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->seq, 1u);
  EXPECT_EQ(d->uid, 7u);
  EXPECT_EQ(d->body, "hello\r\nworl");
  ASSERT_EQ(d->flags.size(), 1u);
  EXPECT_EQ(d->flags[0], "\\Seen");
  // A literal holding what looks like a response, and an empty literal.
  fs = frames("* 2 FETCH (BODY[] {12}\r\nm1 OK fake\r\n UID 9)\r\n* 3 FETCH (UID 10 BODY[] {0}\r\n)\r\n");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(parse_fetch(fs[0])->body, "m1 OK fake\r\n");
  EXPECT_EQ(parse_fetch(fs[0])->uid, 9u);
  EXPECT_EQ(parse_fetch(fs[1])->body, "");
}

TEST(ImapResponse, LimitsAgainstAHostileServer) {
  Limits l;
  l.max_line = 64;
  l.max_literal = 100;
  Frame f;
  // A line that never ends is refused once it passes the limit, not buffered forever.
  std::string endless(65, 'a');
  EXPECT_EQ(frame_response(endless, l, f).status, FrameStatus::error);
  EXPECT_EQ(frame_response(std::string(60, 'a'), l, f).status, FrameStatus::need_more);
  // A literal bigger than allowed is refused before its bytes arrive.
  auto r = frame_response("* 1 FETCH (BODY[] {101}\r\n", l, f);
  EXPECT_EQ(r.status, FrameStatus::error);
  EXPECT_NE(r.error.find("101"), std::string::npos);
  // Several literals count together.
  std::string two = "* 1 FETCH (BODY[] {60}\r\n" + std::string(60, 'x') + " X {60}\r\n";
  EXPECT_EQ(frame_response(two, l, f).status, FrameStatus::error);
  // A size that overflows.
  EXPECT_EQ(frame_response("* 1 FETCH (BODY[] {99999999999999999999999}\r\n", l, f).status, FrameStatus::error);
  EXPECT_EQ(frame_response("* 1 FETCH (BODY[] {18446744073709551615}\r\n", l, f).status, FrameStatus::error);
  // Garbage is framed (it is a line) but parses as nothing.
  auto g = frames("\x01\x02 )( {\r\n");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_FALSE(parse_fetch(g[0]));
  EXPECT_FALSE(parse_status(g[0].text));
  EXPECT_FALSE(parse_search(g[0].text));
}

TEST(ImapResponse, StatusSearchExistsCapability) {
  auto st = parse_status("* OK [UIDVALIDITY 3857529045] UIDs valid");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->tag, "*");
  EXPECT_EQ(st->kind, "OK");
  EXPECT_EQ(code_number(st->code, "UIDVALIDITY"), 3857529045u);
  EXPECT_FALSE(code_number(st->code, "UIDNEXT"));
  st = parse_status("m3 no [AUTHENTICATIONFAILED] Authentication failed.");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->kind, "NO");
  EXPECT_EQ(st->code, "AUTHENTICATIONFAILED");
  EXPECT_EQ(st->text, "Authentication failed.");
  EXPECT_FALSE(parse_status("* 3 EXISTS"));
  EXPECT_FALSE(parse_status("* OK [UNTERMINATED code"));
  EXPECT_EQ(parse_exists("* 3 EXISTS"), 3u);
  EXPECT_FALSE(parse_exists("* x EXISTS"));
  auto s = parse_search("* SEARCH 2 84 882");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (std::vector<std::uint32_t>{2, 84, 882}));
  EXPECT_TRUE(parse_search("* SEARCH")->empty());
  EXPECT_FALSE(parse_search("* SEARCH 1 x"));
  EXPECT_FALSE(parse_search("* SEARCH 0"));
  EXPECT_FALSE(parse_search("* SEARCH 4294967296"));
  auto c = parse_capability("* CAPABILITY IMAP4rev1 idle UIDPLUS");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (std::vector<std::string>{"IMAP4REV1", "IDLE", "UIDPLUS"}));
  c = parse_capability("* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] Dovecot ready.");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size(), 3u);
  EXPECT_FALSE(parse_capability("* OK ready"));
}

TEST(ImapResponse, FetchItems) {
  Frame f{"* 4 FETCH (UID 40 RFC822.SIZE 4312 X-GM-LABELS (\"a b\" c) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")", {}};
  auto d = parse_fetch(f);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->uid, 40u);
  EXPECT_EQ(d->size, 4312u);
  EXPECT_FALSE(d->body);
  EXPECT_FALSE(parse_fetch(Frame{"* 4 FETCH (UID)", {}}));
  EXPECT_FALSE(parse_fetch(Frame{"* 4 FETCH (UID 1", {}}));
  EXPECT_FALSE(parse_fetch(Frame{"* 4 FETCH (UID 1) extra", {}}));
  EXPECT_FALSE(parse_fetch(Frame{"* 4 FETCH (BODY[] {3})", {}}));  // a marker without its literal
  EXPECT_FALSE(parse_fetch(Frame{"* 4 FETCH (BODY[] \"unterminated)", {}}));
  EXPECT_FALSE(parse_fetch(Frame{"* 4 EXPUNGE", {}}));
  d = parse_fetch(Frame{"* 5 FETCH (BODY[] NIL UID 3)", {}});
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->body);
  d = parse_fetch(Frame{"* 5 FETCH (BODY[] \"a \\\"q\\\" b\")", {}});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->body, "a \"q\" b");
}

TEST(ImapResponse, Quote) {
  EXPECT_EQ(quote("pa\"ss\\word"), "\"pa\\\"ss\\\\word\"");
  EXPECT_EQ(quote("INBOX"), "\"INBOX\"");
}

}  // namespace
}  // namespace mailstead::poll

// The IMAP core: framing with literals, tokens, commands, sequence sets, FETCH items,
// SEARCH keys and modified UTF-7; whole and one byte at a time where it applies.
#include "proto/parser.hpp"

#include <gtest/gtest.h>

#include "proto/fetch.hpp"
#include "proto/mutf7.hpp"
#include "proto/search.hpp"
#include "mime/text.hpp"

namespace mailstead::imap {

namespace {
Command cmd(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_TRUE(std::holds_alternative<Command>(r)) << text << ": "
                                                   << (std::holds_alternative<ParseError>(r) ? std::get<ParseError>(r).text : "");
  return std::holds_alternative<Command>(r) ? std::get<Command>(r) : Command{};
}
ParseError err(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_TRUE(std::holds_alternative<ParseError>(r)) << text;
  return std::holds_alternative<ParseError>(r) ? std::get<ParseError>(r) : ParseError{};
}

// Feeds `text` the way the session does, one byte at a time: returns the literals the
// client had to be told to send and the complete command's length.
std::pair<std::vector<std::uint64_t>, std::size_t> frame_bytewise(std::string_view text) {
  std::string buf;
  std::size_t scan = 0;
  std::vector<std::uint64_t> sync;
  for (char c : text) {
    buf.push_back(c);
    for (;;) {
      auto f = frame(buf, scan, 1000);
      if (f.status == Framing::Status::need_literal) {
        if (buf.size() < f.literal_at + f.literal) {
          if (std::find(sync.begin(), sync.end(), f.literal) == sync.end() && f.synchronizing) sync.push_back(f.literal);
          break;
        }
        scan = f.literal_at + f.literal;
        continue;
      }
      if (f.status == Framing::Status::complete) return {sync, f.end};
      break;
    }
  }
  return {sync, 0};
}
}  // namespace

TEST(ImapParser, CaseInsensitiveCommandsAndUid) {
  auto c = cmd("a1 select \"INBOX\"\r\n");
  EXPECT_EQ(c.tag, "a1");
  EXPECT_EQ(c.name, "SELECT");
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_EQ(c.args[0].kind, Token::Kind::string);
  EXPECT_EQ(c.args[0].text, "INBOX");
  auto u = cmd("7 UID fetch 1:* (FLAGS)\r\n");
  EXPECT_EQ(u.name, "UID FETCH");
  EXPECT_EQ(u.args[1].kind, Token::Kind::list);
}

TEST(ImapParser, FetchSectionAtomsKeepSpaces) {
  auto c = cmd("a UID FETCH 5 (UID BODY.PEEK[HEADER.FIELDS (From To Subject)]<0.100> BODY[1.MIME])\r\n");
  ASSERT_EQ(c.args[1].items.size(), 3u);
  EXPECT_EQ(c.args[1].items[1].text, "BODY.PEEK[HEADER.FIELDS (From To Subject)]<0.100>");
  EXPECT_EQ(c.args[1].items[2].text, "BODY[1.MIME]");
}

TEST(ImapParser, QuotedLiteralsFlagsAndNesting) {
  auto c = cmd("a APPEND \"Sent \\\"x\\\"\" (\\Seen $Work) {5}\r\nhello\r\n");
  EXPECT_EQ(c.args[0].text, "Sent \"x\"");
  EXPECT_EQ(c.args[1].items[0].text, "\\Seen");
  EXPECT_EQ(c.args[2].text, "hello");
  auto plus = cmd("a APPEND INBOX {3+}\r\nabc\r\n");
  EXPECT_EQ(plus.args[1].text, "abc");
  auto nested = cmd("a X ((a (b)) NIL)\r\n");
  EXPECT_TRUE(nested.args[0].items[1].is_nil());
}

TEST(ImapParser, Errors) {
  EXPECT_EQ(err("\r\n").tag, "*");
  EXPECT_EQ(err("a\r\n").text, "Missing command");
  EXPECT_EQ(err("a+ NOOP\r\n").tag, "*");
  err("a LOGIN \"unterminated\r\n");
  err("a LOGIN (a b\r\n");
  err("a FETCH 1 BODY[HEADER\r\n");
  err("a X {10}\r\nshort\r\n");
  err("a X ~{3}\r\nab\r\n");
  err("a X  double-space\r\n");
  ParseLimits shallow;
  shallow.max_depth = 3;
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse_command("a X ((((x))))\r\n", shallow)));
}

TEST(ImapFraming, LiteralsWholeAndBytewise) {
  std::string text = "a APPEND INBOX (\\Seen) {11}\r\nhello world {3}\r\nabc\r\n";
  auto f = frame(text, 0, 1000);
  EXPECT_EQ(f.status, Framing::Status::need_literal);
  EXPECT_EQ(f.literal, 11u);
  EXPECT_TRUE(f.synchronizing);
  auto [sync, end] = frame_bytewise(text);
  EXPECT_EQ(end, text.size());
  EXPECT_EQ(sync, (std::vector<std::uint64_t>{11, 3}));
  auto [sync2, end2] = frame_bytewise("a APPEND INBOX {3+}\r\nabc\r\n");
  EXPECT_TRUE(sync2.empty()) << "LITERAL+ needs no continuation";
  EXPECT_GT(end2, 0u);
  EXPECT_EQ(frame(std::string(2000, 'a'), 0, 1000).status, Framing::Status::too_long);
  EXPECT_EQ(frame("a NOOP", 0, 1000).status, Framing::Status::need_more);
}

TEST(ImapSequenceSet, Forms) {
  auto s = parse_sequence_set("1,3:5,7:*");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->contains(1, 10));
  EXPECT_FALSE(s->contains(2, 10));
  EXPECT_TRUE(s->contains(4, 10));
  EXPECT_TRUE(s->contains(10, 10));
  EXPECT_TRUE(parse_sequence_set("*:4")->contains(6, 6)) << "ranges may run backwards";
  for (const char* bad : {"", "0", "1:", ":2", "a", "1,,2", "1:2:3", "-1", "$1", "1,$", "$:3"})
    EXPECT_FALSE(parse_sequence_set(bad)) << bad;
  // "$" alone is the saved search result (SEARCHRES, RFC 5182), which the session resolves
  auto saved = parse_sequence_set("$");
  ASSERT_TRUE(saved);
  EXPECT_TRUE(saved->saved);
  EXPECT_TRUE(saved->ranges.empty());
  EXPECT_FALSE(saved->contains(1, 10));
}

TEST(ImapFetchItems, MacrosSectionsAndLabels) {
  auto one = [](std::string_view list) {
    auto c = cmd("a FETCH 1 " + std::string(list) + "\r\n");
    return parse_fetch_items(c.args[1]);
  };
  auto all = std::get<std::vector<FetchItem>>(one("ALL"));
  EXPECT_EQ(all.size(), 4u);
  auto items = std::get<std::vector<FetchItem>>(one("(BODY.PEEK[HEADER.FIELDS (FROM TO)] BODY[2.1.TEXT]<10.20> RFC822.HEADER)"));
  EXPECT_TRUE(items[0].peek);
  EXPECT_EQ(items[0].spec, FetchItem::Spec::header_fields);
  EXPECT_EQ(items[0].fields, (std::vector<std::string>{"FROM", "TO"}));
  EXPECT_EQ(items[0].label, "BODY[HEADER.FIELDS (FROM TO)]");
  EXPECT_EQ(items[1].path, (std::vector<std::uint32_t>{2, 1}));
  EXPECT_EQ(items[1].label, "BODY[2.1.TEXT]<10>");
  EXPECT_EQ(*items[1].length, 20u);
  EXPECT_EQ(items[2].label, "RFC822.HEADER");
  for (const char* bad : {"(FROB)", "BODY[MIME]", "BODY[0]", "BODY[1]<5>", "BODY[HEADER.FIELDS ()]", "BODY[X]", "BINARY[1.MIME]"})
    EXPECT_TRUE(std::holds_alternative<std::string>(one(bad))) << bad;
}

TEST(ImapSearch, ParseAndMatch) {
  auto keys = [](std::string_view text) {
    auto c = cmd("a SEARCH " + std::string(text) + "\r\n");
    return parse_search(c.args, 0);
  };
  auto k = std::get<SearchKey>(keys("OR FROM alice NOT SEEN LARGER 10 UID 1:3 SINCE 1-Feb-2024"));
  ASSERT_EQ(k.children.size(), 4u);
  EXPECT_EQ(k.children[0].kind, SearchKey::Kind::or_);
  std::string blob = "From: Alice <alice@example.test>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nbody\r\n";
  SearchMessage m;
  m.seq = 1;
  m.uid = 2;
  m.size = blob.size();
  m.blob = blob;
  m.max_seq = m.max_uid = 5;
  std::int64_t feb2 = 0;
  ASSERT_TRUE(parse_search_date("2-Feb-2024", feb2));
  m.internaldate = feb2 * 86400 + 3600;
  EXPECT_TRUE(matches(k, m));
  std::string word = "grüße";  // 8-bit text travels as a literal
  EXPECT_TRUE(matches(std::get<SearchKey>(keys("SUBJECT {" + std::to_string(word.size()) + "}\r\n" + word)), m));
  EXPECT_FALSE(matches(std::get<SearchKey>(keys("BEFORE 2-Feb-2024")), m));
  EXPECT_TRUE(matches(std::get<SearchKey>(keys("ON 2-Feb-2024")), m));
  // what SEARCH must read from the store for each key
  EXPECT_EQ(needs(std::get<SearchKey>(keys("UNSEEN FLAGGED KEYWORD $x UID 1:* MODSEQ 5"))), SearchNeeds::view);
  EXPECT_EQ(needs(std::get<SearchKey>(keys("NOT LARGER 10"))), SearchNeeds::record);
  EXPECT_EQ(needs(std::get<SearchKey>(keys("OR UNSEEN SUBJECT x"))), SearchNeeds::content);
  EXPECT_EQ(needs(std::get<SearchKey>(keys("SINCE 1-Feb-2024 SENTBEFORE 1-Feb-2024"))), SearchNeeds::content);
  for (const char* bad : {"FROB", "OR SEEN", "LARGER x", "SINCE yesterday", "UID x", "()"})
    EXPECT_TRUE(std::holds_alternative<std::string>(keys(bad))) << bad;
  std::int64_t t = 0;
  ASSERT_TRUE(mime::parse_date("Mon, 1 Jan 2024 10:00:00 +0100", t));
  EXPECT_EQ(t, 1704099600);
}

TEST(ModifiedUtf7, RoundTrip) {
  EXPECT_EQ(utf8_to_mutf7("Entwürfe"), "Entw&APw-rfe");
  EXPECT_EQ(utf8_to_mutf7("a&b"), "a&-b");
  EXPECT_EQ(utf8_to_mutf7("日本語"), "&ZeVnLIqe-");
  EXPECT_EQ(mutf7_to_utf8("Entw&APw-rfe"), "Entwürfe");
  EXPECT_EQ(mutf7_to_utf8("&ZeVnLIqe-"), "日本語");
  EXPECT_EQ(mutf7_to_utf8("a&-b"), "a&b");
  for (const char* bad : {"&", "&Jjo", "&AGE-", "caf\xc3\xa9", "&!!-"}) EXPECT_FALSE(mutf7_to_utf8(bad)) << bad;
  EXPECT_EQ(mutf7_to_utf8(utf8_to_mutf7("😀 smile")), "😀 smile");
}

TEST(ImapMailboxNames, InboxIsCaseInsensitive) {
  EXPECT_EQ(normalize_mailbox("inbox"), "INBOX");
  EXPECT_EQ(normalize_mailbox("Inbox/Sub"), "INBOX/Sub");
  EXPECT_EQ(normalize_mailbox("Inboxes"), "Inboxes");
}

}  // namespace mailstead::imap

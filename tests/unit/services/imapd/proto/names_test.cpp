// Mailbox names and the atoms that carry them: "~foo", "a[b" and "[Gmail]/Sent" are atoms
// (RFC 3501 9 astring), "~{n}" a literal8; new names are refused when they would alias
// other names or namespaces (issue 10.10).
#include <gtest/gtest.h>

#include "proto/mutf7.hpp"
#include "proto/parser.hpp"

namespace mailstead::imap {

namespace {
Command cmd(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_TRUE(std::holds_alternative<Command>(r)) << text << ": "
                                                   << (std::holds_alternative<ParseError>(r) ? std::get<ParseError>(r).text : "");
  return std::holds_alternative<Command>(r) ? std::get<Command>(r) : Command{};
}
}  // namespace

TEST(ImapAtoms, TildeAndBracketsInNames) {
  auto c = cmd("a SELECT ~foo\r\n");
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_EQ(c.args[0].kind, Token::Kind::atom);
  EXPECT_EQ(c.args[0].text, "~foo");
  c = cmd("a CREATE a[b\r\n");
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_EQ(c.args[0].text, "a[b");
  c = cmd("a LIST \"\" [Gmail]/%\r\n");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[1].text, "[Gmail]/%");
  c = cmd("a RENAME x[ y]z\r\n");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0].text, "x[");
  EXPECT_EQ(c.args[1].text, "y]z");
  c = cmd("a STATUS #news (MESSAGES)\r\n");
  EXPECT_EQ(c.args[0].text, "#news");
  // FETCH attributes keep spaces inside their section
  c = cmd("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (A B)] binary.peek[1]<0.10> BINARY.SIZE[2])\r\n");
  ASSERT_EQ(c.args[1].items.size(), 3u);
  EXPECT_EQ(c.args[1].items[0].text, "BODY.PEEK[HEADER.FIELDS (A B)]");
  EXPECT_EQ(c.args[1].items[1].text, "binary.peek[1]<0.10>");
}

TEST(ImapAtoms, Literal8) {
  std::string nul("a\0b", 3);
  auto c = cmd("a APPEND INBOX ~{3}\r\n" + nul + "\r\n");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[1].kind, Token::Kind::string);
  EXPECT_TRUE(c.args[1].literal8);
  EXPECT_EQ(c.args[1].text, nul);
  c = cmd("a APPEND INBOX ~{3+}\r\nabc {2}\r\nxy\r\n");
  EXPECT_TRUE(c.args[1].literal8);
  EXPECT_FALSE(c.args[2].literal8);
}

TEST(ImapMailboxNames, NewNamesThatAliasOthersAreRefused) {
  for (const char* ok : {"Projects", "a/b/c", "Entwürfe", "[Gmail]/Sent", "a[b", "x.y", "...", "a/.x", "INBOX/sub"})
    EXPECT_EQ(new_mailbox_name_problem(ok), "") << ok;
  auto nul = mutf7_to_utf8("x&AAA-y");
  ASSERT_TRUE(nul);
  for (std::string bad : {*nul, std::string("a\tb"), std::string("a\x7f"), std::string("a\xc2\x85z"), std::string("#shared"),
                          std::string("~b"), std::string(".."), std::string("../b"), std::string("a/../b"),
                          std::string("a/./b"), std::string("."), std::string("a//b"), std::string("/a"), std::string("a/"),
                          std::string("")})
    EXPECT_NE(new_mailbox_name_problem(bad), "") << bad;
}

}  // namespace mailstead::imap

// The originator fields of a submitted message: structure errors and the addresses the
// session checks against the directory, table-driven.
#include "proto/sender_fields.hpp"

#include <gtest/gtest.h>

namespace mailstead::smtp {

namespace {
std::vector<std::string> addresses(std::string_view header) {
  auto r = examine_sender_fields(header);
  EXPECT_EQ(r.error, "") << header;
  std::vector<std::string> out;
  for (const auto& a : r.addresses) out.push_back(a.field + ":" + a.address);
  return out;
}

std::string error(std::string_view header) {
  auto r = examine_sender_fields(header);
  EXPECT_TRUE(r.addresses.empty()) << header;
  EXPECT_FALSE(r.add_from) << header;
  return r.error;
}
using V = std::vector<std::string>;
}  // namespace

TEST(SenderFields, OneMailboxInFrom) {
  EXPECT_EQ(addresses("From: a@example.test\r\n"), V{"From:a@example.test"});
  EXPECT_EQ(addresses("From: Alice <a@example.test>\r\n"), V{"From:a@example.test"});
  EXPECT_EQ(addresses("from : \"Alice, A.\" <a@example.test> (work)\r\n"), V{"From:a@example.test"});
  EXPECT_EQ(addresses("From: a@example.test (Alice)\r\n"), V{"From:a@example.test"});
  EXPECT_EQ(addresses("From:\r\n <a@example.test>\r\n"), V{"From:a@example.test"}) << "folded";
  EXPECT_EQ(addresses("From: \"<odd>\" <a@example.test>\r\n"), V{"From:a@example.test"});
  EXPECT_EQ(addresses("From: \"a@example.test\" <a@example.test>\r\n"), (V{"From:a@example.test", "From:a@example.test"}))
      << "the display name's address is checked too (it is the user's own here)";
}

TEST(SenderFields, MissingFromIsAdded) {
  auto r = examine_sender_fields("Subject: x\r\nTo: b@example.test\r\n");
  EXPECT_TRUE(r.add_from);
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.addresses.empty());
  EXPECT_FALSE(examine_sender_fields("From: a@example.test\r\n").add_from);
}

TEST(SenderFields, StructureRefused) {
  EXPECT_EQ(error("From: a@example.test\r\nFrom: b@example.test\r\n"), "only one From field is allowed");
  EXPECT_EQ(error("From: undisclosed:;\r\n"), "From: group syntax is not allowed");
  EXPECT_EQ(error("From: team: a@example.test, b@example.test;\r\n"), "From: group syntax is not allowed");
  EXPECT_EQ(error("From: a@example.test, b@example.test\r\n"), "From must name exactly one mailbox");
  EXPECT_EQ(error("From: x <a@example.test> <b@example.test>\r\n"), "From: more than one address in one mailbox");
  EXPECT_EQ(error("From: <a@example.test> b@example.test\r\n"), "From: text after the address");
  EXPECT_EQ(error("From: Bob b@example.test\r\n"), "From: a display name needs the address in angle brackets");
  EXPECT_EQ(error("From: <@relay.example:a@example.test>\r\n"), "From: source routes are not allowed");
  EXPECT_EQ(error("From: <>\r\n"), "From: empty address");
  EXPECT_EQ(error("From: \r\n"), "From: no address");
  EXPECT_EQ(error("From: \"unterminated <a@example.test>\r\n"), "From: unterminated quoted string");
  EXPECT_EQ(error("From: (open <a@example.test>\r\n"), "From: unterminated comment");
  EXPECT_EQ(error("From: a <a@example.test\r\n"), "From: unbalanced angle brackets");
  EXPECT_EQ(error("From: alice\r\n"), "From: address without a domain");
  EXPECT_EQ(error("From: a@example.test\r\nSender: a@example.test\r\nSender: b@example.test\r\n"),
            "only one Sender field is allowed");
  EXPECT_EQ(error("From: a@example.test\r\nSender: a@example.test, b@example.test\r\n"),
            "Sender must name exactly one mailbox");
  EXPECT_EQ(error("From: a@example.test\r\nResent-From: list:;\r\n"), "Resent-From: group syntax is not allowed");
}

TEST(SenderFields, DisplayNamesThatAreAddresses) {
  // Quoted, unquoted, encoded-word (Q and B), in a comment, look-alike at sign.
  EXPECT_EQ(addresses("From: \"b@example.test\" <a@example.test>\r\n"), (V{"From:a@example.test", "From:b@example.test"}));
  EXPECT_EQ(addresses("From: b@example.test <a@example.test>\r\n"), (V{"From:a@example.test", "From:b@example.test"}));
  EXPECT_EQ(addresses("From: =?utf-8?q?b=40example=2Etest?= <a@example.test>\r\n"),
            (V{"From:a@example.test", "From:b@example.test"}));
  EXPECT_EQ(addresses("From: =?UTF-8?B?YkBleGFtcGxlLnRlc3Q=?= <a@example.test>\r\n"),
            (V{"From:a@example.test", "From:b@example.test"}));
  EXPECT_EQ(addresses("From: Bob (b@example.test) <a@example.test>\r\n"), (V{"From:a@example.test", "From:b@example.test"}));
  EXPECT_EQ(addresses("From: \"b\xEF\xBC\xA0" "example.test\" <a@example.test>\r\n"),
            (V{"From:a@example.test", "From:b@example.test"}));
  EXPECT_EQ(addresses("From: \"Bob <b@example.test>\" <a@example.test>\r\n"),
            (V{"From:a@example.test", "From:b@example.test"}));
  EXPECT_EQ(addresses("From: a@example.test (b@example.test.)\r\n"), (V{"From:a@example.test", "From:b@example.test"}));
  // Names with an at sign that is no address are fine.
  EXPECT_EQ(addresses("From: \"Alice @ Work\" <a@example.test>\r\n"), V{"From:a@example.test"});
}

TEST(SenderFields, SenderAndResentFromCheckedReplyToNot) {
  EXPECT_EQ(addresses("From: a@example.test\r\nSender: Bob <b@example.test>\r\nReply-To: c@example.test\r\n"),
            (V{"From:a@example.test", "Sender:b@example.test"}));
  EXPECT_EQ(addresses("From: a@example.test\r\nResent-From: a@example.test, \"x\" <b@example.test>\r\n"
                      "Resent-From: c@example.test\r\nResent-Sender: d@example.test\r\n"),
            (V{"From:a@example.test", "Resent-From:a@example.test", "Resent-From:b@example.test",
               "Resent-From:c@example.test", "Resent-Sender:d@example.test"}));
  EXPECT_EQ(addresses("From: a@example.test\r\nReply-To: list:;, \"b@example.test\" <c@example.test>\r\n"),
            V{"From:a@example.test"});
}

TEST(SenderFields, DisplayNameTokens) {
  EXPECT_EQ(addresses_in_display_name("\"Bob\""), V{});
  EXPECT_EQ(addresses_in_display_name("\"b\\@x.test\""), V{"b@x.test"}) << "escapes are what a client shows";
  EXPECT_EQ(addresses_in_display_name("mail b@x.test, c@y.test"), (V{"b@x.test", "c@y.test"}));
  EXPECT_EQ(addresses_in_display_name("@ x@ @y"), V{});
}

}  // namespace mailstead::smtp

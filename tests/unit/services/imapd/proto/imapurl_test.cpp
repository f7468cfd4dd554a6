// CATENATE's IMAP URLs (RFC 5092): the forms clients send and the ones refused.
#include "proto/imapurl.hpp"

#include <gtest/gtest.h>

namespace mailstead::imap {
namespace {

TEST(ImapUrl, PathAbsoluteWithValiditySectionAndPartial) {
  auto u = parse_imap_url("/Sent%20Items;UIDVALIDITY=785799047/;UID=113330/;SECTION=1.5.9/;PARTIAL=0.1024");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->absolute);
  EXPECT_EQ(u->mailbox, "Sent Items");
  EXPECT_EQ(u->uidvalidity, 785799047u);
  EXPECT_EQ(u->uid, 113330u);
  EXPECT_EQ(u->section, "1.5.9");
  EXPECT_EQ(u->partial_offset, 0u);
  EXPECT_EQ(u->partial_length, 1024u);
  EXPECT_FALSE(u->urlauth);
}

TEST(ImapUrl, AbsoluteWithUserAuthAndPort) {
  auto u = parse_imap_url("IMAP://alice%40example.org;AUTH=*@Mail.Example.org:993/Entw%C3%BCrfe/;uid=7/;section=HEADER");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->absolute);
  EXPECT_EQ(u->user, "alice@example.org");
  EXPECT_EQ(u->host, "mail.example.org");
  EXPECT_EQ(u->mailbox, "Entw\xc3\xbcrfe");
  EXPECT_EQ(u->uid, 7u);
  EXPECT_EQ(u->section, "HEADER");
}

TEST(ImapUrl, RelativeToTheSelectedMailbox) {
  auto u = parse_imap_url(";UID=20/;SECTION=2");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->relative_to_selected);
  EXPECT_EQ(u->uid, 20u);
  EXPECT_EQ(u->section, "2");
}

TEST(ImapUrl, UrlauthIsRecognisedSoItCanBeRefused) {
  auto u = parse_imap_url("/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=anonymous:internal:0123");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->urlauth);
  EXPECT_EQ(u->uid, 1u);
}

TEST(ImapUrl, WhatNamesNoMessageIsNotAUrl) {
  for (const char* bad : {"", "/", "/INBOX", "/INBOX/;UID=", "/INBOX/;UID=0", "/INBOX/;UID=x", "/INBOX/;UID=1/;FOO=1",
                          "/%zz/;UID=1", "/%4/;UID=1", "imap://host", "imap://@host/INBOX/;UID=1",
                          "imap://host/;UID=1", "http://example.com/INBOX/;UID=1", "/INBOX/;UID=1/;SECTION=",
                          "/INBOX/;UID=99999999999"})
    EXPECT_FALSE(parse_imap_url(bad)) << bad;
}

}  // namespace
}  // namespace mailstead::imap

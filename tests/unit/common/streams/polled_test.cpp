// The IMAP poller's store side: which stream address a polled message was sent to, routing
// by the SMTP path's rules, and each (mailbox, UIDVALIDITY, UID) posted once, with a second
// copy of a Message-ID not posted again.
#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"
#include "streams/messages.hpp"
#include "streams/polled.hpp"

namespace mailstead::streams {
namespace {

using store::WriteTxn;

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<store::Store> s = testing::open_store(dir.path());
  Settings settings;
  directory::RoutingSettings routing;
  std::string token = "0123456789abcdef0123456789abcdef";
  Fixture() {
    settings.gateway_pattern = "gw+%s@example.com";
    settings.pattern = parse_pattern(settings.gateway_pattern);
    routing.stream_gateway = settings.pattern;
    EXPECT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
      directory::NewStream n;
      n.slug = "dev";
      n.name = "Dev";
      n.token = token;
      if (!directory::add_stream(t, n)) return store::Errc::aborted;
      n.slug = "closed";
      n.name = "Closed";
      n.email_posting = directory::EmailPosting::members;
      if (!directory::add_stream(t, n)) return store::Errc::aborted;
      return {};
    }));
  }
  PolledMessage prepare(const std::string& msg, std::uint32_t uid, std::uint32_t uidvalidity = 5) {
    auto txn = s->read();
    auto m = prepare_polled(*txn, routing, settings, msg, 1000);
    m.source = poll_source("imap.example.com", 993, "gw", "INBOX");
    m.uidvalidity = uidvalidity;
    m.uid = uid;
    return m;
  }
  PollOutcome commit(const PolledMessage& m) {
    PollOutcome o{};
    EXPECT_FALSE(s->commit_sync([&](WriteTxn& t) { return commit_polled(t, m, 1000, o); }));
    return o;
  }
  std::size_t posted(const std::string& slug) {
    auto txn = s->read();
    return messages(*txn, directory::get_stream(*txn, slug)->id, {}).size();
  }
};

TEST(StreamPolled, AddressesInOrder) {
  auto p = parse_pattern("gw+%s@example.com");
  std::string msg =
      "To: Someone <other@example.com>, \"Dev\" <GW+dev.abc@Example.com>\r\n"
      "Cc: gw+cc.x@example.com\r\n"
      "Delivered-To: gw+first.t@example.com\r\n"
      "Subject: s\r\n\r\nbody\r\n";
  auto a = polled_addresses(msg, *p);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], "gw+first.t@example.com");
  EXPECT_EQ(a[1], "gw+dev.abc@example.com");
  EXPECT_EQ(a[2], "gw+cc.x@example.com");
  EXPECT_EQ(message_id("Message-ID:  <a.b@c> (comment)\r\n\r\n"), "a.b@c");
  EXPECT_EQ(message_id("Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n"), "");
}

TEST(StreamPolled, PostedOnceAndDuplicatesSkipped) {
  Fixture fx;
  std::string msg = "From: Ann <ann@elsewhere.org>\r\nTo: gw+dev." + fx.token +
                    "@example.com\r\nMessage-ID: <m1@elsewhere.org>\r\nSubject: Re: plans\r\n\r\nhello\r\n";
  auto m = fx.prepare(msg, 1);
  ASSERT_FALSE(m.refused);
  ASSERT_EQ(m.posts.size(), 1u);
  EXPECT_EQ(m.posts[0].message.topic, "plans");
  EXPECT_EQ(m.posts[0].message.sender, "gateway-bot");  // never the From: no session proved it
  EXPECT_EQ(m.posts[0].message.email_from, "ann@elsewhere.org");
  EXPECT_EQ(fx.commit(m), PollOutcome::posted);
  // The same UID again (a restart before the flag reached the server): nothing new.
  EXPECT_EQ(fx.commit(m), PollOutcome::posted);
  EXPECT_EQ(fx.posted("dev"), 1u);
  {
    auto txn = fx.s->read();
    auto rec = find_polled(*txn, m.source, 5, 1);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->outcome, PollOutcome::posted);
    EXPECT_FALSE(find_polled(*txn, m.source, 6, 1));
  }
  // The same Message-ID under another UIDVALIDITY (the server renumbered): a duplicate.
  auto again = fx.prepare(msg, 1, 6);
  EXPECT_EQ(fx.commit(again), PollOutcome::duplicate);
  EXPECT_EQ(fx.posted("dev"), 1u);
}

TEST(StreamPolled, RefusedBySmtpRules) {
  Fixture fx;
  // Wrong token, no address at all, a members-only stream (an unauthenticated sender).
  auto bad = fx.prepare("To: gw+dev.ffffffffffffffffffffffffffffffff@example.com\r\nSubject: x\r\n\r\nb\r\n", 2);
  ASSERT_TRUE(bad.refused);
  EXPECT_EQ(bad.refused->enhanced, "5.1.1");
  EXPECT_EQ(fx.commit(bad), PollOutcome::refused);
  auto none = fx.prepare("To: someone@example.com\r\nSubject: x\r\n\r\nb\r\n", 3);
  ASSERT_TRUE(none.refused);
  EXPECT_EQ(fx.commit(none), PollOutcome::refused);
  auto closed = fx.prepare("To: gw+closed." + fx.token + "@example.com\r\nSubject: x\r\n\r\nb\r\n", 4);
  ASSERT_TRUE(closed.refused);
  EXPECT_EQ(closed.refused->enhanced, "5.7.1");
  // A bad first address does not hide a good later one.
  auto later = fx.prepare("To: gw+dev.0000@example.com, gw+dev." + fx.token + ".show-sender@example.com\r\n"
                          "From: b@x.org\r\nSubject: x\r\n\r\nb\r\n", 5);
  ASSERT_FALSE(later.refused);
  EXPECT_EQ(fx.commit(later), PollOutcome::posted);
  EXPECT_EQ(fx.posted("dev"), 1u);
  EXPECT_EQ(fx.posted("closed"), 0u);
  auto txn = fx.s->read();
  auto rec = find_polled(*txn, bad.source, 5, 2);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->outcome, PollOutcome::refused);
  EXPECT_NE(rec->reason.find("5.1.1"), std::string::npos);
}

}  // namespace
}  // namespace mailstead::streams

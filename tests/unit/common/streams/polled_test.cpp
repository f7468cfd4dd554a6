// The IMAP poller's store side: which stream address a polled message was sent to, routing
// by the SMTP path's rules, and each (mailbox, UIDVALIDITY, UID) posted once, with a second
// copy of a Message-ID not posted again.
#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "config/source.hpp"
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
    EXPECT_FALSE(s->commit_sync([&](WriteTxn& t) { return commit_polled(t, m, settings, 1000, o); }));
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

// Every poll_* key: its default, its value, and the values refused at start-up.
TEST(StreamPolled, Settings) {
  auto load = [](const std::string& body) {
    auto src = config::Source::from_string("[streams]\ngateway_pattern = \"gw+%s@example.com\"\n" + body);
    return load_settings(src);
  };
  auto d = load("");
  EXPECT_TRUE(d.poll.host.empty());
  EXPECT_EQ(d.poll.port, 993u);
  EXPECT_EQ(d.poll.mailbox, "INBOX");
  EXPECT_EQ(d.poll.interval, std::chrono::minutes(1));
  EXPECT_TRUE(d.poll.after_delete);
  EXPECT_TRUE(d.poll.verify);
  EXPECT_EQ(d.poll.max_message_size, 25u << 20);
  EXPECT_EQ(d.poll.max_line, 1u << 20);
  EXPECT_EQ(d.poll.timeout, std::chrono::seconds(60));
  EXPECT_EQ(d.poll.idle_restart, std::chrono::minutes(25));
  EXPECT_EQ(d.poll.backoff_max, std::chrono::minutes(5));
  EXPECT_EQ(d.poll.batch, 100u);
  auto s = load(
      "poll_host = \"imap.example.com\"\npoll_port = 1993\npoll_user = \"gw\"\npoll_mailbox = \"Gateway\"\n"
      "poll_interval = \"30s\"\npoll_after = \"flag\"\npoll_ca_file = \"/ca.pem\"\npoll_tls_verify = false\n"
      "poll_max_message_size = \"1M\"\npoll_max_line = \"64K\"\npoll_timeout = \"5s\"\n"
      "poll_idle_restart = \"10m\"\npoll_backoff_max = \"30s\"\npoll_batch = 7\n");
  EXPECT_EQ(s.poll.host, "imap.example.com");
  EXPECT_EQ(s.poll.port, 1993u);
  EXPECT_EQ(s.poll.mailbox, "Gateway");
  EXPECT_EQ(s.poll.interval, std::chrono::seconds(30));
  EXPECT_FALSE(s.poll.after_delete);
  EXPECT_EQ(s.poll.ca_file, "/ca.pem");
  EXPECT_FALSE(s.poll.verify);
  EXPECT_EQ(s.poll.max_message_size, 1u << 20);
  EXPECT_EQ(s.poll.max_line, 64u << 10);
  EXPECT_EQ(s.poll.timeout, std::chrono::seconds(5));
  EXPECT_EQ(s.poll.idle_restart, std::chrono::minutes(10));
  EXPECT_EQ(s.poll.backoff_max, std::chrono::seconds(30));
  EXPECT_EQ(s.poll.batch, 7u);
  for (const char* bad : {"poll_after = \"keep\"", "poll_idle_restart = \"29m\"", "poll_interval = \"100ms\"",
                          "poll_host = \"h\"",  // no poll_user
                          "poll_port = 0", "poll_batch = 0", "poll_max_message_size = 10",
                          "poll_user = \"a\\nb\""})
    EXPECT_THROW(load(bad), config::ConfigError) << bad;
  auto src = config::Source::from_string("[streams]\npoll_host = \"h\"\npoll_user = \"u\"\n");
  EXPECT_THROW(load_settings(src), config::ConfigError);  // polling needs gateway_pattern
}

}  // namespace
}  // namespace mailstead::streams

// Stream notifications (docs/streams.md, "Notifications and replies"): watching and
// notification modes in the store, reply tokens (made, reused, expired, forgotten when the
// member leaves), reply-address parsing and routing, and the notification email itself.
#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "directory/directory.hpp"
#include "directory/routing.hpp"
#include "queue/queue.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "streams/messages.hpp"
#include "streams/notifications.hpp"
#include "streams/reply_route.hpp"
#include "streams/settings.hpp"
#include "streams/watch.hpp"

namespace mailstead::streams {
namespace {

using store::Table;
using store::WriteTxn;

TEST(StreamWatch, ExpiresAndModes) {
  testing::TempDir dir;
  auto s = testing::open_store(dir.path());
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) { return set_watching(t, 1, 2, 1000); }));
  {
    auto txn = s->read();
    EXPECT_TRUE(is_watching(*txn, 1, 2, 999));
    EXPECT_FALSE(is_watching(*txn, 1, 2, 1000));  // expired at `until`
    EXPECT_FALSE(is_watching(*txn, 1, 3, 10));
    EXPECT_FALSE(is_watching(*txn, 2, 2, 10));
    EXPECT_EQ(notify_mode(*txn, 1, 2), NotifyMode::all);
  }
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) {
    set_notify_mode(t, 1, 2, NotifyMode::none);
    return stop_watching(t, 1, 2);
  }));
  {
    auto txn = s->read();
    EXPECT_FALSE(is_watching(*txn, 1, 2, 10));
    EXPECT_EQ(notify_mode(*txn, 1, 2), NotifyMode::none);
  }
  EXPECT_EQ(parse_notify_mode("none"), NotifyMode::none);
  EXPECT_FALSE(parse_notify_mode("some"));
}

TEST(StreamReplies, TokensMadeReusedExpiredForgotten) {
  testing::TempDir dir;
  auto s = testing::open_store(dir.path());
  std::string a, b, c, d;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    a = reply_token_for(t, 7, 1, "Plans", 1000, 30 * 86400).value();
    b = reply_token_for(t, 7, 1, "plans", 2000, 30 * 86400).value();  // same topic, any case: reused
    c = reply_token_for(t, 7, 1, "Other", 2000, 30 * 86400).value();
    d = reply_token_for(t, 8, 1, "Plans", 2000, 30 * 86400).value();
    return {};
  }));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  {
    auto txn = s->read();
    auto t = find_reply(*txn, a, 5000);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->user, 7u);
    EXPECT_EQ(t->stream, 1u);
    EXPECT_EQ(t->topic, "Plans");
    EXPECT_FALSE(find_reply(*txn, a, 1000 + 30 * 86400));  // expired
    EXPECT_FALSE(find_reply(*txn, std::string(32, '0'), 5000));
  }
  // Near its end a token is replaced by a fresh one.
  std::string e;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    e = reply_token_for(t, 7, 1, "Plans", 1000 + 30 * 86400 - 10, 30 * 86400).value();
    return {};
  }));
  EXPECT_NE(e, a);
  // Leaving the stream removes the member's tokens of that stream only.
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) { return forget_member(t, 1, 7); }));
  auto txn = s->read();
  EXPECT_FALSE(find_reply(*txn, e, 5000));
  EXPECT_FALSE(find_reply(*txn, c, 5000));
  EXPECT_TRUE(find_reply(*txn, d, 5000));
}

TEST(StreamReplies, AddressParts) {
  auto hex = std::string("0123456789abcdef0123456789ABCDEF");
  EXPECT_EQ(reply_token_of("MM" + hex), "0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(reply_token_of("mm" + hex.substr(1)));
  EXPECT_FALSE(reply_token_of("mm" + hex + "0"));
  EXPECT_FALSE(reply_token_of("mx" + hex));
  EXPECT_FALSE(reply_token_of("mm" + hex.substr(0, 31) + "g"));
  EXPECT_FALSE(reply_token_of("dev." + hex));
  auto p = parse_pattern("inbox+%s@example.com");
  EXPECT_EQ(reply_address(*p, "ab"), "inbox+mmab@example.com");
}

TEST(StreamReplies, RoutingChecksTheMember) {
  testing::TempDir dir;
  auto s = testing::open_store(dir.path());
  std::string token;
  std::uint64_t ann = 0, bob = 0;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    directory::add_domain(t, "example.test").value();
    ann = directory::add_user(t, {"ann@example.test", "x", "Ann", 0}).value().id;
    bob = directory::add_user(t, {"bob@example.test", "x", "Bob", 0}).value().id;
    directory::add_alias(t, "annie@example.test", "ann@example.test").value();
    auto st = directory::add_stream(t, {"dev", "Dev", "", "", directory::EmailPosting::anyone}).value();
    st.members = {ann, bob};
    directory::put_stream(t, st).value();
    token = reply_token_for(t, ann, st.id, "Plans", std::time(nullptr), 3600).value();
    return {};
  }));
  directory::RoutingSettings rs;
  rs.stream_gateway = parse_pattern("%s@streams.example.test");
  auto rcpt = "mm" + token + "@streams.example.test";
  auto txn = s->read();
  auto ok = [&](const directory::Route& r) { return std::holds_alternative<directory::Delivery>(r); };
  auto code = [&](const directory::Route& r) {
    auto* j = std::get_if<directory::Rejection>(&r);
    return j ? std::to_string(j->code) + " " + j->enhanced : std::string("ok");
  };
  auto r = directory::resolve(*txn, rs, rcpt, {"ann@example.test", std::nullopt});
  ASSERT_TRUE(ok(r)) << code(r);
  auto& d = std::get<directory::Delivery>(r);
  EXPECT_EQ(d.kind, directory::RouteKind::stream);
  EXPECT_EQ(d.stream_user, ann);
  EXPECT_EQ(d.stream_topic, "Plans");
  EXPECT_EQ(d.reply_token, token);
  EXPECT_TRUE(ok(directory::resolve(*txn, rs, rcpt, {"Annie+x@EXAMPLE.test", std::nullopt})));  // alias, tag
  EXPECT_TRUE(ok(directory::resolve(*txn, rs, rcpt, {"", ann})));                               // authenticated
  EXPECT_EQ(code(directory::resolve(*txn, rs, rcpt, {"bob@example.test", std::nullopt})), "550 5.7.1");
  EXPECT_EQ(code(directory::resolve(*txn, rs, rcpt, {"ann@example.test", bob})), "550 5.7.1");
  EXPECT_EQ(code(directory::resolve(*txn, rs, rcpt, {"", std::nullopt})), "550 5.7.1");
  EXPECT_EQ(code(directory::resolve(*txn, rs, "mm" + std::string(32, 'a') + "@streams.example.test",
                                    {"ann@example.test", std::nullopt})),
            "550 5.1.1");
}

TEST(StreamNotification, Headers) {
  Notification n;
  n.from_name = "Email \"gateway\"";
  n.from_address = "noreply@streams.example.test";
  n.to = "ann@example.test";
  n.reply_to = "mm0123@streams.example.test";
  n.gateway_domain = "streams.example.test";
  n.stream_slug = "dev";
  n.stream_name = "Dev Team";
  n.topic = "Café\r\nBcc: x@evil.test";
  n.sender_name = "Bob";
  n.sender_address = "bob@example.test";
  n.body = "Hello\nworld";
  n.stream_id = 3;
  n.message_id = 42;
  n.user = 7;
  n.time = 0;
  auto m = build_notification(n);
  auto header = m.substr(0, m.find("\r\n\r\n") + 2);
  EXPECT_NE(header.find("From: \"Email \\\"gateway\\\"\" <noreply@streams.example.test>\r\n"), std::string::npos) << header;
  EXPECT_NE(header.find("Message-ID: <stream-3.msg-42.to-7@streams.example.test>\r\n"), std::string::npos);
  auto thread = topic_thread_id(3, n.topic, n.gateway_domain);
  EXPECT_EQ(topic_thread_id(3, "PLANS", "d"), topic_thread_id(3, "plans", "d"));  // one thread per topic
  EXPECT_NE(topic_thread_id(3, "plans", "d"), topic_thread_id(4, "plans", "d"));
  EXPECT_NE(header.find("In-Reply-To: " + thread + "\r\n"), std::string::npos);
  EXPECT_NE(header.find("Auto-Submitted: auto-generated\r\n"), std::string::npos);
  EXPECT_NE(header.find("List-Id: \"Dev Team\" <dev.streams.example.test>\r\n"), std::string::npos);
  // No header injection, and non-ASCII text as RFC 2047 encoded words.
  EXPECT_EQ(header.find("\r\nBcc:"), std::string::npos) << header;
  EXPECT_NE(header.find("Subject: =?UTF-8?B?"), std::string::npos);
  for (unsigned char c : header) EXPECT_LT(c, 0x80);
  // The body: base64 because of the non-ASCII topic line in it.
  EXPECT_NE(header.find("Content-Transfer-Encoding: base64"), std::string::npos);
  n.topic = "plain";
  auto ascii = build_notification(n);
  EXPECT_NE(ascii.find("Content-Transfer-Encoding: 7bit"), std::string::npos);
  EXPECT_NE(ascii.find("Bob <bob@example.test> wrote in Dev Team > plain:\r\n\r\nHello\r\nworld\r\n"), std::string::npos)
      << ascii;
}

TEST(StreamNotification, QueuedForMembersNotWatching) {
  testing::TempDir dir;
  auto s = testing::open_store(dir.path());
  Settings settings;
  settings.pattern = parse_pattern("%s@streams.example.test");
  settings.notify_from = "noreply@streams.example.test";
  std::uint64_t ann = 0, bob = 0, cy = 0, stream = 0;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    directory::add_domain(t, "example.test").value();
    ann = directory::add_user(t, {"ann@example.test", "x", "Ann", 0}).value().id;
    bob = directory::add_user(t, {"bob@example.test", "x", "Bob", 0}).value().id;
    cy = directory::add_user(t, {"cy@example.test", "x", "Cy", 0}).value().id;
    auto st = directory::add_stream(t, {"dev", "Dev", "", "", directory::EmailPosting::anyone}).value();
    st.members = {ann, bob, cy};
    stream = st.id;
    directory::put_stream(t, st).value();
    set_watching(t, stream, bob, 2000);
    StreamMessage m;
    m.stream = stream;
    m.topic = "Plans";
    m.body = "hi";
    m.user = ann;
    m.sender = "ann@example.test";
    m.time = 1000;
    return post(t, m, {}, &settings) ? std::error_code{} : store::Errc::aborted;
  }));
  auto txn = s->read();
  auto q = queue::list(*txn);
  ASSERT_EQ(q.size(), 1u);  // not Ann (the poster), not Bob (watching): Cy
  EXPECT_EQ(q[0].recipients, std::vector<std::string>{"cy@example.test"});
  EXPECT_EQ(q[0].sender, "");
}

}  // namespace
}  // namespace mailstead::streams

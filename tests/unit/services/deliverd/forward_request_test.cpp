// Stream forwarding on the wire (services/deliverd/forward_request.hpp) and the URL and
// target checks under it (common/streams/forwards.hpp).
#include "forward_request.hpp"

#include <gtest/gtest.h>

#include "util/base64.hpp"

using namespace mailstead;
using namespace mailstead::outbound::forward;

namespace {

streams::StreamMessage message() {
  streams::StreamMessage m;
  m.id = 7;
  m.topic = "launch plan & more";
  m.sender = "gateway-bot";
  m.sender_name = "Bob Builder";
  m.email_from = "bob@outside.test";
  m.body = "Ship it = yes\nOK?";
  return m;
}

std::string header(const WireRequest& w, const std::string& name) {
  for (const auto& [n, v] : w.headers)
    if (n == name) return v;
  return "";
}

}  // namespace

TEST(HttpUrl, Splits) {
  auto u = streams::parse_http_url("https://Chat.Example.org:8443/hooks/abc?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "chat.example.org");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/hooks/abc?x=1");
  u = streams::parse_http_url("http://[::1]:9000");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->https);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->target, "/");
  u = streams::parse_http_url("https://example.org?q");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/?q");
}

TEST(HttpUrl, Refuses) {
  for (const char* bad : {"ftp://x", "https://", "https://user:pw@host/", "https://host:0/", "https://host:65536/",
                          "https://ho st/", "https://::1/", "https://[::1/", "https://host:x/", "example.org"}) {
    std::string why;
    EXPECT_FALSE(streams::parse_http_url(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(ForwardTarget, ChecksAndHidesSecrets) {
  streams::ForwardTarget z;
  z.kind = streams::ForwardKind::zulip;
  z.site = "http://127.0.0.1:9000";
  z.bot_email = "bot@chat.test";
  z.secret = "abcdefghijklmnopWXYZ";
  EXPECT_FALSE(streams::check_target(z));  // http without allow_http
  z.allow_http = true;
  EXPECT_TRUE(streams::check_target(z));
  EXPECT_EQ(z.secret_hint(), "…WXYZ");
  EXPECT_EQ(z.url(), "http://127.0.0.1:9000/api/v1/messages");
  z.bot_email = "nobody";
  EXPECT_FALSE(streams::check_target(z));
  streams::ForwardTarget w;
  w.kind = streams::ForwardKind::webhook;
  w.secret = "https://hooks.example.test/services/T000/B000/secret-token";
  EXPECT_TRUE(streams::check_target(w));
  EXPECT_EQ(w.shown_url().find("secret"), std::string::npos);
  EXPECT_EQ(w.secret_hint(), "…");
  auto back = streams::ForwardTarget::decode(w.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->secret, w.secret);
}

TEST(ForwardRequest, ZulipForm) {
  streams::ForwardTarget z;
  z.kind = streams::ForwardKind::zulip;
  z.site = "https://chat.example.org/";
  z.bot_email = "bot@chat.example.org";
  z.secret = "KEY123";
  std::string why;
  auto w = build_request(z, message(), "Dev Team", &why);
  ASSERT_TRUE(w) << why;
  EXPECT_EQ(w->url.target, "/api/v1/messages");
  EXPECT_EQ(header(*w, "Authorization"), "Basic " + base64_encode("bot@chat.example.org:KEY123"));
  EXPECT_EQ(header(*w, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(w->body,
            "type=stream&to=Dev+Team&topic=launch+plan+%26+more&content=**Bob+Builder**+%3Cbob%40outside.test%3E%3A%0A"
            "Ship+it+%3D+yes%0AOK%3F");
  z.to_stream = "mirror";
  w = build_request(z, message(), "Dev Team", &why);
  ASSERT_TRUE(w);
  EXPECT_NE(w->body.find("to=mirror&"), std::string::npos);
}

TEST(ForwardRequest, WebhookJson) {
  streams::ForwardTarget t;
  t.kind = streams::ForwardKind::webhook;
  t.secret = "https://hooks.example.test/T/B/x";
  std::string why;
  auto w = build_request(t, message(), "Dev Team", &why);
  ASSERT_TRUE(w) << why;
  EXPECT_EQ(header(*w, "Content-Type"), "application/json");
  EXPECT_EQ(header(*w, "Authorization"), "");
  EXPECT_EQ(w->body,
            R"({"text":"**Dev Team > launch plan & more** **Bob Builder** <bob@outside.test>:\nShip it = yes\nOK?","username":"Bob Builder"})");
}

TEST(ForwardRequest, Verdicts) {
  EXPECT_EQ(classify(200), Verdict::delivered);
  EXPECT_EQ(classify(204), Verdict::delivered);
  EXPECT_EQ(classify(429), Verdict::retry);
  EXPECT_EQ(classify(500), Verdict::retry);
  EXPECT_EQ(classify(503), Verdict::retry);
  EXPECT_EQ(classify(400), Verdict::failed);
  EXPECT_EQ(classify(401), Verdict::failed);
  EXPECT_EQ(classify(404), Verdict::failed);
  EXPECT_EQ(classify(301), Verdict::failed);
}

TEST(ForwardRequest, RetryAfter) {
  EXPECT_EQ(parse_retry_after("120", 0), std::chrono::seconds(120));
  EXPECT_EQ(parse_retry_after(" 3 ", 0), std::chrono::seconds(3));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 10), std::chrono::seconds(10));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 10), std::chrono::seconds(0));
  EXPECT_FALSE(parse_retry_after("", 0));
  EXPECT_FALSE(parse_retry_after("soon", 0));
  EXPECT_FALSE(parse_retry_after("-5", 0));
  EXPECT_FALSE(parse_retry_after("99999999999", 0));
}

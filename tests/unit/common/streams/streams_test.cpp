// The chat gateway's pure parts and its storage: stream addresses and options, subject →
// topic, body selection and HTML conversion, quote and footer trimming, truncation,
// attachments; stream messages by topic; the schema 4 → 5 migration of stream records.
#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "directory/directory.hpp"
#include "store/mailstore.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"
#include "streams/address.hpp"
#include "streams/convert.hpp"
#include "streams/messages.hpp"
#include "streams/settings.hpp"
#include "util/bytes.hpp"

namespace mailstead::streams {
namespace {

using store::Table;
using store::WriteTxn;

TEST(StreamAddress, Pattern) {
  auto p = parse_pattern("%s@Streams.Example.org");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->domain, "streams.example.org");
  EXPECT_EQ(gateway_part(*p, "dev.abc@STREAMS.example.org"), "dev.abc");
  EXPECT_FALSE(gateway_part(*p, "dev.abc@example.org"));
  EXPECT_FALSE(gateway_part(*p, "@streams.example.org"));
  auto polled = parse_pattern("inbox+%s@example.com");
  ASSERT_TRUE(polled);
  EXPECT_EQ(gateway_part(*polled, "inbox+dev.abc@example.com"), "dev.abc");
  EXPECT_FALSE(gateway_part(*polled, "other+dev.abc@example.com"));
  for (auto bad : {"", "streams.example.org", "%s", "%s%s@x.org", "a@%s", "%s@", "%d@x.org", "%s@bad domain"})
    EXPECT_FALSE(parse_pattern(bad)) << bad;
}

TEST(StreamAddress, PartsAndOptions) {
  auto r = parse_stream_part("Dev.ABC123.show-sender+include-footer.include-quotes.prefer-html");
  auto* a = std::get_if<StreamAddress>(&r);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->slug, "dev");
  EXPECT_EQ(a->token, "abc123");
  EXPECT_TRUE(a->options.show_sender && a->options.include_footer && a->options.include_quotes && a->options.prefer_html);
  EXPECT_FALSE(a->options.prefer_text);
  auto plain = parse_stream_part("dev+tok");
  ASSERT_TRUE(std::holds_alternative<StreamAddress>(plain));
  EXPECT_EQ(std::get<StreamAddress>(plain).options, Options{});
  for (auto bad : {"", "dev", "dev.", ".tok", "dev.tok.shout", "dev.tok.prefer-html.prefer-text", "dev..x"})
    EXPECT_TRUE(std::holds_alternative<AddressError>(parse_stream_part(bad))) << bad;
  auto p = parse_pattern("%s@streams.example.org").value();
  Options o;
  o.show_sender = o.prefer_text = true;
  EXPECT_EQ(format_address(p, "dev", "tok", o), "dev.tok.show-sender.prefer-text@streams.example.org");
  auto back = parse_stream_part("dev.tok.show-sender.prefer-text");
  EXPECT_EQ(std::get<StreamAddress>(back).options, o);
  EXPECT_TRUE(same_token("abc", "abc"));
  EXPECT_FALSE(same_token("abc", "abd"));
  EXPECT_FALSE(same_token("abc", "abcd"));
}

TEST(StreamSettings, RateLimits) {
  auto r = parse_rate_limit("50/60s");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 50u);
  EXPECT_EQ(r->window, std::chrono::seconds(60));
  EXPECT_EQ(parse_rate_limit("2/1500ms")->window, std::chrono::milliseconds(1500));
  EXPECT_EQ(parse_rate_limit("600/1h")->window, std::chrono::hours(1));
  for (auto bad : {"", "50", "/60s", "0/60s", "50/0s", "50/x", "a/60s", "50/60d"}) EXPECT_FALSE(parse_rate_limit(bad)) << bad;
}

TEST(StreamConvert, SubjectToTopic) {
  EXPECT_EQ(subject_to_topic("Re: Fwd: AW: RE : plans"), "plans");
  EXPECT_EQ(subject_to_topic("Re[2]: WG: Sv: Antw: budget  2025"), "budget 2025");
  EXPECT_EQ(subject_to_topic("   "), "Email with no subject");
  EXPECT_EQ(subject_to_topic("Re: "), "Email with no subject");
  EXPECT_EQ(subject_to_topic("tab\there\x01!"), "tab here!");
  EXPECT_EQ(subject_to_topic("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?="), "Grüße");
  EXPECT_EQ(subject_to_topic("Regarding the plan"), "Regarding the plan");
  auto long_topic = subject_to_topic(std::string(50, 'a') + "ééééééé", 60);
  EXPECT_EQ(long_topic, std::string(50, 'a') + "ééééé");  // cut at a character boundary
  EXPECT_TRUE(is_forward("Fwd: x"));
  EXPECT_TRUE(is_forward("Re: FW: x"));
  EXPECT_FALSE(is_forward("Re: x"));
}

TEST(StreamConvert, QuotesAndFooter) {
  std::string body =
      "Sounds good.\n\nOn Mon, 1 Jan 2024 at 10:00, Ann <ann@example.org> wrote:\n> Shall we?\n> Yes.\n\n-- \nBob\nACME Corp\n";
  EXPECT_EQ(strip_quotes(strip_footer(body)), "Sounds good.");
  EXPECT_EQ(strip_footer(body), "Sounds good.\n\nOn Mon, 1 Jan 2024 at 10:00, Ann <ann@example.org> wrote:\n> Shall we?\n> Yes.");
  EXPECT_EQ(strip_quotes("Top.\n\n-----Original Message-----\nFrom: x\nold"), "Top.");
  EXPECT_EQ(strip_quotes("Top.\nFrom: Ann\nSent: Monday\nSubject: x\n\nold"), "Top.");
  EXPECT_EQ(strip_quotes("I wrote: this line stays"), "I wrote: this line stays");
  EXPECT_EQ(strip_footer("a\n--\nsig"), "a");
  EXPECT_EQ(strip_footer("a\n---\nb"), "a\n---\nb");
}

TEST(StreamConvert, HtmlToText) {
  auto t = html_to_text(
      "<html><head><title>T</title><style>p{}</style></head><body><h2>News</h2><p>Hello <b>world</b>, see "
      "<a href=\"https://example.org/x\">the page</a>.</p><ul><li>one</li><li>two</li></ul>"
      "<blockquote>quoted<br>text</blockquote><script>alert(1)</script><p>a&amp;b&nbsp;c</p></body></html>");
  EXPECT_EQ(t, "## News\n\nHello **world**, see [the page](https://example.org/x).\n\n* one\n* two\n\n> quoted\n> text\n\na&b\u00a0c");
  EXPECT_EQ(html_to_text("<p>unclosed <i>tags"), "unclosed *tags*");
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<div>";
  deep += "bottom";
  EXPECT_NE(html_to_text(deep).find("bottom"), std::string::npos);
}

std::string mail(const std::string& headers, const std::string& body) { return headers + "\r\n" + body; }

TEST(StreamConvert, PlainPreferredHtmlConverted) {
  auto alt = mail(
      "From: Ann Example <ann@example.org>\r\nSubject: Re: launch\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=b\r\n",
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain body\r\n--b\r\nContent-Type: text/html\r\n\r\n"
      "<p>html <b>body</b></p>\r\n--b--\r\n");
  auto c = convert(alt, {});
  EXPECT_EQ(c.topic, "launch");
  EXPECT_EQ(c.body, "plain body");
  EXPECT_EQ(c.from_address, "ann@example.org");
  EXPECT_EQ(c.from_name, "Ann Example");
  Options html;
  html.prefer_html = true;
  EXPECT_EQ(convert(alt, html).body, "html **body**");
  auto only_html = mail("Subject: x\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                        "<p>caf=E9</p>\r\n");
  auto h = convert(only_html, {});
  EXPECT_TRUE(h.html);
  EXPECT_EQ(h.body, "café");
  EXPECT_EQ(compose_body(convert(mail("Subject: x\r\n", ""), {}), {}, {}), "(No email body)");
  Options show;
  show.show_sender = true;
  EXPECT_EQ(compose_body(c, show, {}), "From: Ann Example <ann@example.org>\nplain body");
}

TEST(StreamConvert, TruncationAndAttachments) {
  auto m = mail("Subject: files\r\nContent-Type: multipart/mixed; boundary=b\r\n",
                "--b\r\nContent-Type: text/plain\r\n\r\n" + std::string(300, 'x') +
                    "\r\n--b\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; "
                    "filename=\"../report 1.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b--\r\n");
  ConvertLimits lim;
  lim.max_body_bytes = 100;
  auto c = convert(m, {}, lim);
  EXPECT_TRUE(c.truncated);
  EXPECT_EQ(c.body, std::string(100, 'x'));
  ASSERT_EQ(c.attachments.size(), 1u);
  EXPECT_EQ(c.attachments[0].name, "report 1.pdf");
  EXPECT_EQ(c.attachments[0].content_type, "application/pdf");
  EXPECT_EQ(c.attachments[0].bytes, "%PDF-1.4");
  auto body = compose_body(c, {}, {"/u/1"});
  EXPECT_EQ(body, std::string(100, 'x') + "\n[message truncated]\n[report 1.pdf](/u/1)");
  lim.max_attachments = 0;
  EXPECT_TRUE(convert(m, {}, lim).attachments.empty());
}

TEST(StreamMessages, ByTopicAndAttachmentRefs) {
  testing::TempDir dir;
  auto s = testing::open_store(dir.path());
  std::uint64_t first = 0;
  std::string blob = store::blob_key("file bytes");
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    StreamMessage m;
    m.stream = 7;
    m.topic = "Plans";
    m.body = "one";
    m.via = "cli";
    first = post(t, m, {}).value();
    m.topic = "other";
    m.body = "two";
    post(t, m, {NewAttachment{{"f.txt", "text/plain", blob, 10}, "file bytes"}}).value();
    m.topic = "plans";  // the same topic, whatever the case
    m.body = "three";
    post(t, m, {}).value();
    m.stream = 8;
    post(t, m, {}).value();
    return {};
  }));
  auto txn = s->read();
  auto all = messages(*txn, 7, {});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, first);
  EXPECT_EQ(all[1].attachments.size(), 1u);
  Query q;
  q.topic = "PLANS";
  auto plans = messages(*txn, 7, q);
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].body, "one");
  EXPECT_EQ(plans[1].body, "three");
  auto ts = topics(*txn, 7);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].name, "other");
  EXPECT_EQ(ts[1].name, "Plans");
  EXPECT_EQ(ts[1].messages, 2u);
  EXPECT_EQ(store::get_blob_ref(*txn, blob)->refs, 1u);
  txn.reset();
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) { return remove_messages(t, 7); }));
  txn = s->read();
  EXPECT_TRUE(messages(*txn, 7, {}).empty());
  EXPECT_EQ(messages(*txn, 8, {}).size(), 1u);
  EXPECT_FALSE(store::get_blob(*txn, blob));
}

TEST(StreamMessages, SchemaFourStreamsMigrate) {
  testing::TempDir dir;
  {
    auto s = testing::open_store(dir.path());
    ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
      // A schema-4 stream: keyed by its local address, address + name + created.
      Encoder e;
      e.str("chat@example.test").str("General chat").i64(1700000000);
      if (auto ec = t.put(Table::streams, "chat@example.test", e.take())) return ec;
      return store::schema::set_version(t, 4);
    }));
  }
  auto s = testing::open_store(dir.path());
  auto txn = s->read();
  EXPECT_EQ(store::schema::version(*txn), store::schema::current_version);
  auto all = directory::list_streams(*txn);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].slug, "chat");
  EXPECT_EQ(all[0].name, "General chat");
  EXPECT_EQ(all[0].token.size(), 32u);
  EXPECT_TRUE(all[0].enabled);
  EXPECT_NE(all[0].id, 0u);
  EXPECT_EQ(all[0].created, 1700000000);
}

}  // namespace
}  // namespace mailstead::streams

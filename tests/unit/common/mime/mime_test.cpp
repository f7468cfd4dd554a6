// The MIME parser: nested multiparts, message/rfc822, RFC 2231, broken and hostile
// input, whole and one byte at a time; ENVELOPE and BODYSTRUCTURE exactly.
#include "mime/mime.hpp"

#include <gtest/gtest.h>

#include "mime/imap_structure.hpp"

namespace mailstead::mime {

namespace {

std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\r\n";
    else out.push_back(c);
  }
  return out;
}

// Everything about a tree, for comparing two parses.
std::string dump(std::string_view m, const Part& p) {
  std::string s = "[" + std::to_string(p.header_begin) + "," + std::to_string(p.header_end) + "," +
                  std::to_string(p.body_end) + " " + p.type + "/" + p.subtype + " " + p.encoding + "]";
  for (const auto& c : p.children) s += dump(m, c);
  return s + ";";
}

Part bytewise(std::string_view m, Limits l = {}) {
  Parser p(l);
  for (char c : m) p.feed(std::string_view(&c, 1));
  return p.finish();
}

void expect_whole_equals_bytewise(std::string_view m, Limits l = {}) {
  auto a = parse(m, l);
  auto b = bytewise(m, l);
  EXPECT_EQ(dump(m, a), dump(m, b));
  EXPECT_EQ(bodystructure(m, a, true), bodystructure(m, b, true));
}

std::string_view body(std::string_view m, const Part& p) { return m.substr(p.header_end, p.body_end - p.header_end); }

const std::string nested = crlf(R"(From: a@example.test
Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

plain body
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>html</p>
--inner--
--outer
Content-Type: application/pdf; name="r.pdf"
Content-Disposition: attachment; filename*0*=utf-8''r%C3%A9; filename*1*=sum%C3%A9.pdf
Content-Transfer-Encoding: base64

AAAA
--outer--
epilogue
)");

}  // namespace

TEST(Mime, SinglePartDefaults) {
  auto m = crlf("Subject: hi\n\nline one\nline two\n");
  auto p = parse(m);
  EXPECT_EQ(p.type, "text");
  EXPECT_EQ(p.subtype, "plain");
  EXPECT_EQ(body(m, p), crlf("line one\nline two\n"));
  EXPECT_EQ(body_lines(m, p), 2u);
  EXPECT_EQ(bodystructure(m, p, true), "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 20 2 NIL NIL NIL NIL)");
  EXPECT_EQ(bodystructure(m, p, false), "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 20 2)");
  expect_whole_equals_bytewise(m);
}

TEST(Mime, NestedMultipart) {
  auto p = parse(nested);
  ASSERT_TRUE(p.is_multipart());
  ASSERT_EQ(p.children.size(), 2u);
  auto& alt = p.children[0];
  ASSERT_EQ(alt.children.size(), 2u);
  EXPECT_EQ(body(nested, alt.children[0]), "plain body");
  EXPECT_EQ(body(nested, alt.children[1]), "<p>html</p>");
  EXPECT_EQ(alt.children[1].encoding, "quoted-printable");
  auto& pdf = p.children[1];
  EXPECT_EQ(body(nested, pdf), "AAAA");
  EXPECT_EQ(pdf.disposition, "attachment");
  ASSERT_EQ(pdf.disposition_params.size(), 1u);
  EXPECT_EQ(pdf.disposition_params[0].first, "filename*");
  EXPECT_EQ(pdf.disposition_params[0].second, "utf-8''r%C3%A9sum%C3%A9.pdf");
  EXPECT_EQ(bodystructure(nested, p, true),
            "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL)"
            "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 11 1 NIL NIL NIL NIL)"
            " \"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)"
            "(\"APPLICATION\" \"PDF\" (\"NAME\" \"r.pdf\") NIL NIL \"BASE64\" 4 NIL"
            " (\"ATTACHMENT\" (\"FILENAME*\" \"utf-8''r%C3%A9sum%C3%A9.pdf\")) NIL NIL)"
            " \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)");
  EXPECT_EQ(bodystructure(nested, p, false),
            "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 10 1)"
            "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 11 1) \"ALTERNATIVE\")"
            "(\"APPLICATION\" \"PDF\" (\"NAME\" \"r.pdf\") NIL NIL \"BASE64\" 4) \"MIXED\")");
  expect_whole_equals_bytewise(nested);
}

TEST(Mime, MessageRfc822) {
  auto m = crlf(R"(Subject: fwd
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: message/rfc822

From: "Inner, Person" <inner@example.test>
Subject: inner
Date: Mon, 1 Jan 2024 00:00:00 +0000

inner body
--b--
)");
  auto p = parse(m);
  ASSERT_EQ(p.children.size(), 1u);
  auto& msg = p.children[0];
  ASSERT_TRUE(msg.is_message());
  ASSERT_EQ(msg.children.size(), 1u);
  EXPECT_EQ(body(m, msg.children[0]), "inner body");
  EXPECT_EQ(envelope(m, msg.children[0]),
            "(\"Mon, 1 Jan 2024 00:00:00 +0000\" \"inner\" ((\"Inner, Person\" NIL \"inner\" \"example.test\"))"
            " ((\"Inner, Person\" NIL \"inner\" \"example.test\")) ((\"Inner, Person\" NIL \"inner\" \"example.test\"))"
            " NIL NIL NIL NIL NIL)");
  auto bs = bodystructure(m, msg, true);
  EXPECT_TRUE(bs.starts_with("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" ")) << bs;
  EXPECT_NE(bs.find(" (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL) 5 "),
            std::string::npos)
      << bs;
  expect_whole_equals_bytewise(m);
}

TEST(Mime, EnvelopeWithGroupsAndEncodedWords) {
  auto m = crlf(R"(Date: Tue, 2 Jan 2024 10:00:00 +0100
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
From: =?utf-8?b?SsO2cmc=?= <joerg@example.test>
To: team: a@example.test, "B" <b@example.test>;, c@example.test
Message-ID: <id@example.test>

x
)");
  auto p = parse(m);
  EXPECT_EQ(envelope(m, p),
            "(\"Tue, 2 Jan 2024 10:00:00 +0100\" \"=?utf-8?q?Gr=C3=BC=C3=9Fe?=\""
            " ((\"=?utf-8?b?SsO2cmc=?=\" NIL \"joerg\" \"example.test\"))"
            " ((\"=?utf-8?b?SsO2cmc=?=\" NIL \"joerg\" \"example.test\"))"
            " ((\"=?utf-8?b?SsO2cmc=?=\" NIL \"joerg\" \"example.test\"))"
            " ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"example.test\")(\"B\" NIL \"b\" \"example.test\")(NIL NIL NIL NIL)"
            "(NIL NIL \"c\" \"example.test\")) NIL NIL NIL \"<id@example.test>\")");
}

TEST(Mime, EncodedWords) {
  EXPECT_EQ(decode_words("=?utf-8?q?Gr=C3=BC=C3=9Fe?="), "Grüße");
  EXPECT_EQ(decode_words("=?ISO-8859-1?Q?J=F6rg?= =?UTF-8?B?U2NobWlkdA==?="), "JörgSchmidt");
  EXPECT_EQ(decode_words("Re: =?utf-8?q?a_b?= tail"), "Re: a b tail");
  EXPECT_EQ(decode_words("=?x-unknown?q?abc?="), "abc");
  EXPECT_EQ(decode_words("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
  EXPECT_EQ(decode_words("=?utf-8?b?!!!?="), "=?utf-8?b?!!!?=");
  EXPECT_EQ(decode_words("plain text"), "plain text");
}

TEST(Mime, Rfc2231Continuations) {
  auto m = crlf("Content-Type: text/plain; title*1=\" two\"; title*0=\"one\"; charset=\"us-ascii\" (comment)\n\nx\n");
  auto p = parse(m);
  EXPECT_EQ(p.param("title"), "one two");
  EXPECT_EQ(p.param("charset"), "us-ascii");
}

TEST(Mime, BrokenMime) {
  // No final boundary: the last part runs to the end.
  auto a = crlf("Content-Type: multipart/mixed; boundary=x\n\n--x\n\nunterminated\n");
  auto pa = parse(a);
  ASSERT_EQ(pa.children.size(), 1u);
  EXPECT_EQ(body(a, pa.children[0]), crlf("unterminated\n"));
  expect_whole_equals_bytewise(a);
  // A boundary that never appears: a multipart with no parts is reported as text.
  auto b = crlf("Content-Type: multipart/mixed; boundary=x\n\nno parts at all\n");
  auto pb = parse(b);
  EXPECT_TRUE(pb.children.empty());
  EXPECT_TRUE(bodystructure(b, pb, true).starts_with("(\"TEXT\" \"PLAIN\""));
  // Multipart without a boundary parameter.
  auto c = crlf("Content-Type: multipart/mixed\n\n--x\n\nbody\n");
  EXPECT_TRUE(parse(c).children.empty());
  // A header with no body and no blank line.
  auto d = crlf("Subject: only a header\n");
  auto pd = parse(d);
  EXPECT_EQ(pd.header_end, d.size());
  EXPECT_EQ(pd.body_end, d.size());
  // Bare LF line ends, a malformed Content-Type, binary garbage.
  auto e = std::string("Content-Type: ;;;/\n\n\x00\xff\n--\n", 27);
  auto pe = parse(e);
  EXPECT_EQ(pe.type, "text");
  expect_whole_equals_bytewise(e);
  EXPECT_EQ(parse("").body_end, 0u);
}

TEST(Mime, HostileNestingAndPartCountHitLimits) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  deep += "\r\nleaf\r\n";
  Limits l;
  l.max_depth = 10;
  auto p = parse(deep, l);
  int depth = 0;
  for (const Part* q = &p; !q->children.empty(); q = &q->children[0]) ++depth;
  EXPECT_LE(depth, 10);
  expect_whole_equals_bytewise(deep, l);

  std::string many = "Content-Type: multipart/mixed; boundary=z\r\n\r\n";
  for (int i = 0; i < 5000; ++i) many += "--z\r\n\r\npart\r\n";
  many += "--z--\r\n";
  l.max_parts = 100;
  auto pm = parse(many, l);
  EXPECT_LE(pm.children.size(), 100u);

  std::string big_header = "Subject: " + std::string(1 << 20, 'a') + "\r\n\r\nbody\r\n";
  Limits hl;
  hl.max_header_bytes = 1024;
  auto ph = parse(big_header, hl);
  EXPECT_TRUE(ph.header_truncated);
  EXPECT_EQ(body(big_header, ph), "body\r\n");
}

TEST(Mime, EveryPrefixParsesConsistently) {
  for (std::size_t n = 0; n <= nested.size(); n += 7) {
    auto prefix = std::string_view(nested).substr(0, n);
    auto p = parse(prefix);
    EXPECT_LE(p.body_end, n);
    (void)bodystructure(prefix, p, true);
    (void)envelope(prefix, p);
  }
}

TEST(ImapString, QuotedOrLiteral) {
  EXPECT_EQ(imap_string("plain"), "\"plain\"");
  EXPECT_EQ(imap_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(imap_string("line\r\nbreak"), "{11}\r\nline\r\nbreak");
  EXPECT_EQ(imap_string("Jörg"), "{5}\r\nJörg");
  EXPECT_EQ(imap_nstring(""), "NIL");
}

}  // namespace mailstead::mime

#include "mime/cache.hpp"

namespace mailstead::mime {

TEST(MimeCache, SectionsOffsetsAndRoundTrip) {
  auto c = build_cache(nested);
  std::vector<std::string> sections;
  for (const auto& p : c.parts) sections.push_back(p.section);
  EXPECT_EQ(sections, (std::vector<std::string>{"", "1", "1.1", "1.2", "2"}));
  auto& html = c.parts[3];
  EXPECT_EQ(nested.substr(html.header_end, html.body_end - html.header_end), "<p>html</p>");
  ASSERT_GE(c.header.size(), 4u);
  EXPECT_EQ(c.header[0].name, "from");
  EXPECT_EQ(nested.substr(c.header[1].begin, c.header[1].end - c.header[1].begin), "Subject: nested\r\n");
  auto back = Cache::decode(c.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->bodystructure, c.bodystructure);
  EXPECT_EQ(back->envelope, c.envelope);
  EXPECT_EQ(back->parts.size(), c.parts.size());
  EXPECT_FALSE(Cache::decode(c.encode().substr(0, 10)));
}

}  // namespace mailstead::mime

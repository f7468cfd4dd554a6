// MTA-STS records, policies and MX patterns (RFC 8461 3.1, 3.2, 4.1): table-driven.
#include "proto/mta_sts.hpp"

#include <gtest/gtest.h>

using namespace mailstead::outbound::mta_sts;

TEST(MtaStsPolicy, ParsesTheRfcExample) {
  auto r = parse_policy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
                        "mx: backupmx.example.com\r\nmax_age: 604800\r\n");
  ASSERT_TRUE(r.policy) << r.error;
  EXPECT_EQ(r.policy->mode, Mode::enforce);
  EXPECT_EQ(r.policy->max_age, 604800u);
  EXPECT_EQ(r.policy->mx, (std::vector<std::string>{"mail.example.com", "*.example.net", "backupmx.example.com"}));
}

TEST(MtaStsPolicy, LfLinesNoFinalNewlineExtensionsAndOrder) {
  auto r = parse_policy("mode: testing\nmax_age:86400\nx_extension: anything at all\nversion: STSv1\nmx: MX.Example.ORG");
  ASSERT_TRUE(r.policy) << r.error;
  EXPECT_EQ(r.policy->mode, Mode::testing);
  EXPECT_EQ(r.policy->max_age, 86400u);
  EXPECT_EQ(r.policy->mx, std::vector<std::string>{"mx.example.org"});  // patterns compare in lower case
  auto none = parse_policy("version: STSv1\nmode: none\nmax_age: 0\n\n");
  ASSERT_TRUE(none.policy) << none.error;  // mode none needs no mx; trailing blank lines are tolerated
  EXPECT_EQ(none.policy->mode, Mode::none);
  auto first = parse_policy("version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 5\nmax_age: 9\n");
  ASSERT_TRUE(first.policy);
  EXPECT_EQ(first.policy->mode, Mode::enforce);  // the first of a repeated field counts
  EXPECT_EQ(first.policy->max_age, 5u);
}

TEST(MtaStsPolicy, RefusesWhatTheGrammarDoesNotAllow) {
  struct Case {
    const char* body;
    const char* why;
  };
  const Case cases[] = {
      {"", "no 'version"},
      {"mode: enforce\nmx: a.example\nmax_age: 5\n", "no 'version"},
      {"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 5\n", "version must be STSv1"},
      {"version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 5\n", "version must be STSv1"},
      {"version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 5\n", "mode must be"},
      {"version: STSv1\nmx: a.example\nmax_age: 5\n", "no mode"},
      {"version: STSv1\nmode: enforce\nmx: a.example\n", "no max_age"},
      {"version: STSv1\nmode: enforce\nmax_age: 5\n", "no mx"},
      {"version: STSv1\nmode: testing\nmax_age: 5\n", "no mx"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", "more than 31557600"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n", "more than 10 digits"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -5\n", "number of seconds"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 5 days\n", "number of seconds"},
      {"version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 5\n", "not an MX pattern"},
      {"version: STSv1\nmode: enforce\nmx: a*.example\nmax_age: 5\n", "not an MX pattern"},
      {"version: STSv1\nmode: enforce\nmx: example\nmax_age: 5\n", "not an MX pattern"},
      {"version: STSv1\nmode: enforce\nmx: a.example.\nmax_age: 5\n", "not an MX pattern"},
      {"version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 5\n", "not an MX pattern"},
      {"version: STSv1\nmode: enforce\nmx:\nmax_age: 5\n", "has no value"},
      {"version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 5\n", "line 2 is empty"},
      {"version STSv1\nmode: enforce\nmx: a.example\nmax_age: 5\n", "has no ':'"},
      {"version: STSv1\nmo de: enforce\nmx: a.example\nmax_age: 5\n", "field name"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 5\nnote: caf\xc3\xa9\n", "non-ASCII"},
      {"<html><body>Not found</body></html>", "no ':'"},
  };
  for (const auto& c : cases) {
    auto r = parse_policy(c.body);
    EXPECT_FALSE(r.policy) << c.body;
    EXPECT_NE(r.error.find(c.why), std::string::npos) << c.body << " → " << r.error;
  }
}

TEST(MtaStsTxt, TheOneStsV1RecordsId) {
  EXPECT_EQ(parse_txt({"v=STSv1; id=20160831085700Z;"}), "20160831085700Z");
  EXPECT_EQ(parse_txt({"v=STSv1;id=abc"}), "abc");
  EXPECT_EQ(parse_txt({"v=spf1 -all", "v=STSv1 ; id=x1 ; ext=value"}), "x1");
  std::string why;
  EXPECT_FALSE(parse_txt({}, &why));
  EXPECT_EQ(why, "no v=STSv1 TXT record");
  EXPECT_FALSE(parse_txt({"v=STSv1; id=a", "v=STSv1; id=b"}, &why));
  EXPECT_EQ(why, "more than one v=STSv1 TXT record");
  EXPECT_FALSE(parse_txt({"v=STSv1;"}, &why));
  EXPECT_EQ(why, "the TXT record has no id");
  EXPECT_FALSE(parse_txt({"v=STSv1; id=has-dash"}, &why));
  EXPECT_FALSE(parse_txt({"v=STSv1; id=" + std::string(33, 'a')}, &why));
  EXPECT_FALSE(parse_txt({"v=STSv1; id=a; id=b"}, &why));
  EXPECT_FALSE(parse_txt({"v=STSv1 id=a"}, &why));
  EXPECT_FALSE(parse_txt({"v=STSv10; id=a"}, &why));  // not a v=STSv1 record at all
  EXPECT_EQ(why, "no v=STSv1 TXT record");
}

TEST(MtaStsMx, ExactAndOneLabelWildcards) {
  struct Case {
    const char* pattern;
    const char* host;
    bool match;
  };
  const Case cases[] = {
      {"mail.example.com", "mail.example.com", true},
      {"mail.example.com", "MAIL.Example.Com.", true},
      {"mail.example.com", "mail2.example.com", false},
      {"mail.example.com", "x.mail.example.com", false},
      {"*.example.net", "mx1.example.net", true},
      {"*.example.net", "MX1.EXAMPLE.NET", true},
      {"*.example.net", "example.net", false},
      {"*.example.net", "a.b.example.net", false},
      {"*.example.net", ".example.net", false},
      {"*.example.net", "mx1.example.network", false},
      {"*.example.net", "mx1example.net", false},
  };
  for (const auto& c : cases) EXPECT_EQ(mx_matches(c.pattern, c.host), c.match) << c.pattern << " vs " << c.host;
  Policy p;
  p.mx = {"mx.a.example", "*.b.example"};
  EXPECT_TRUE(policy_allows(p, "mx.a.example"));
  EXPECT_TRUE(policy_allows(p, "x.b.example"));
  EXPECT_FALSE(policy_allows(p, "mx.c.example"));
}

TEST(MtaStsPolicy, WholeAndCutAnywhere) {
  // A valid policy cut at any byte parses or fails cleanly, never crashes.
  std::string body = "version: STSv1\r\nmode: enforce\r\nmx: *.example.net\r\nmax_age: 604800\r\n";
  for (std::size_t i = 0; i <= body.size(); ++i) {
    auto r = parse_policy(std::string_view(body).substr(0, i));
    EXPECT_EQ(bool(r.policy), r.error.empty());
  }
}

#include "proto/dane.hpp"

TEST(DaneTlsa, OnlyDaneTaAndDaneEeWithKnownParametersAreUsable) {
  using mailstead::dns::Tlsa;
  auto t = [](int u, int s, int m, std::size_t n) {
    return Tlsa{static_cast<std::uint8_t>(u), static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(m), std::string(n, 'x')};
  };
  EXPECT_TRUE(mailstead::outbound::usable_tlsa(t(3, 1, 1, 32)));
  EXPECT_TRUE(mailstead::outbound::usable_tlsa(t(3, 0, 2, 64)));
  EXPECT_TRUE(mailstead::outbound::usable_tlsa(t(2, 0, 0, 500)));
  EXPECT_FALSE(mailstead::outbound::usable_tlsa(t(0, 1, 1, 32)));  // PKIX-TA: unusable in SMTP
  EXPECT_FALSE(mailstead::outbound::usable_tlsa(t(1, 1, 1, 32)));  // PKIX-EE
  EXPECT_FALSE(mailstead::outbound::usable_tlsa(t(4, 1, 1, 32)));
  EXPECT_FALSE(mailstead::outbound::usable_tlsa(t(3, 2, 1, 32)));
  EXPECT_FALSE(mailstead::outbound::usable_tlsa(t(3, 1, 3, 32)));
  EXPECT_FALSE(mailstead::outbound::usable_tlsa(t(3, 1, 1, 31)));  // SHA-256 is 32 bytes
  EXPECT_FALSE(mailstead::outbound::usable_tlsa(t(3, 1, 2, 32)));  // SHA-512 is 64
  EXPECT_FALSE(mailstead::outbound::usable_tlsa(t(3, 0, 0, 0)));
}

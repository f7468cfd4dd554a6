// Authentication-Results: rendering our field and removing forged ones (RFC 8601 2.2, 5),
// the From domain DMARC uses (RFC 7489 6.6.1), and the organizational domain fallback.
#include "inbound/auth_results.hpp"

#include <gtest/gtest.h>

#include "inbound/message_checks.hpp"

namespace mailstead::inbound {

TEST(AuthResults, RendersOneFieldWithAClausePerLine) {
  std::vector<Clause> c{{"spf", "pass", "", "", {{"smtp.mailfrom", "alice@example.test"}}},
                        {"dkim", "fail", "body hash mismatch", "", {{"header.d", "example.test"}, {"header.s", "s1"},
                                                                    {"header.b", "ab+/cd=="}}},
                        {"dmarc", "fail", "p=reject dis=reject", "", {{"header.from", "example.test"}}}};
  EXPECT_EQ(render_authentication_results("mx.example.test", c),
            "Authentication-Results: mx.example.test;\r\n"
            "\tspf=pass smtp.mailfrom=alice@example.test;\r\n"
            "\tdkim=fail (body hash mismatch) header.d=example.test header.s=s1 header.b=\"ab+/cd==\";\r\n"
            "\tdmarc=fail (p=reject dis=reject) header.from=example.test\r\n");
  EXPECT_EQ(render_authentication_results("mx.example.test", {}), "Authentication-Results: mx.example.test; none\r\n");
}

TEST(AuthResults, HostileValuesCannotBreakTheField) {
  std::vector<Clause> c{{"spf\r\nX-Evil", "pass", "a)\r\nb(", "x\"y\r\n", {{"smtp.mailfrom", "a\r\nX-Evil: 1@b"}}}};
  auto f = render_authentication_results("mx.example.test", c);
  EXPECT_EQ(f.find("\r\nX-Evil"), std::string::npos) << f;
  EXPECT_EQ(f, "Authentication-Results: mx.example.test;\r\n\tspfX-Evil=pass (a   b ) reason=\"x\\\"y??\" "
               "smtp.mailfrom=\"a??X-Evil: 1@b\"\r\n");
}

TEST(AuthResults, LongResultListsAreCut) {
  std::vector<Clause> c(500, Clause{"dkim", "policy", "not verified: over the signature limit", "", {{"header.d", "x.test"}}});
  auto f = render_authentication_results("mx.example.test", c, 4096);
  EXPECT_LE(f.size(), 4096u);
  EXPECT_NE(f.find("more results not shown"), std::string::npos);
}

TEST(AuthResults, AuthservIdOfAValue) {
  EXPECT_EQ(authserv_id_of(" mx.example.test; spf=pass"), "mx.example.test");
  EXPECT_EQ(authserv_id_of(" MX.Example.Test 1; none"), "mx.example.test");  // with a version
  EXPECT_EQ(authserv_id_of(" (a (nested) comment)\r\n\tmx.example.test;none"), "mx.example.test");
  EXPECT_EQ(authserv_id_of(" \"mx.example.test\"; none"), "mx.example.test");
  EXPECT_EQ(authserv_id_of("mx.example.test/1;"), "mx.example.test/1");
  EXPECT_EQ(authserv_id_of(" ;"), "");
}

TEST(AuthResults, RemovesOnlyFieldsNamingUs) {
  std::string h =
      "Received: from x\r\n"
      "Authentication-Results: mx.example.test; dkim=pass\r\n"
      "authentication-results :\r\n\tMX.EXAMPLE.TEST 1;\r\n\tspf=pass\r\n"
      "Authentication-Results: other.test; spf=pass\r\n"
      "Authentication-Results: mx.example.test.evil; spf=pass\r\n"
      "X-Authentication-Results: mx.example.test; spf=pass\r\n"
      "Subject: hi\r\n\r\n";
  std::size_t n = 0;
  EXPECT_EQ(remove_forged_results(h, "mx.example.test", n),
            "Received: from x\r\n"
            "Authentication-Results: other.test; spf=pass\r\n"
            "Authentication-Results: mx.example.test.evil; spf=pass\r\n"
            "X-Authentication-Results: mx.example.test; spf=pass\r\n"
            "Subject: hi\r\n\r\n");
  EXPECT_EQ(n, 2u);
}

TEST(AuthResults, RemovesOurTraceFieldsWhateverTheySay) {
  std::string h =
      "Received: from x\r\n"
      "X-Mailstead-Iprev: iprev=pass policy.iprev=192.0.2.1 (bank.test)\r\n"
      "x-mailstead-helo :\r\n\thelo=match (bank.test)\r\n"
      "X-Mailstead-Iprevious: kept\r\n"
      "X-Mailstead-Redirected-By: kept@example.test\r\n"
      "Authentication-Results: mx.example.test; dkim=pass\r\n"
      "Subject: hi\r\n\r\n";
  ForgedFields n;
  EXPECT_EQ(remove_forged_fields(h, "mx.example.test", n),
            "Received: from x\r\n"
            "X-Mailstead-Iprevious: kept\r\n"
            "X-Mailstead-Redirected-By: kept@example.test\r\n"
            "Subject: hi\r\n\r\n");
  EXPECT_EQ(n.results, 1u);
  EXPECT_EQ(n.trace, 2u);
  // Without an authserv-id (DMARC off) the trace fields still go, every A-R stays.
  auto kept = remove_forged_fields(h, "", n);
  EXPECT_NE(kept.find("Authentication-Results: mx.example.test"), std::string::npos);
  EXPECT_EQ(n.results, 0u);
  EXPECT_EQ(n.trace, 2u);
  // The A-R-only variant leaves the trace fields.
  std::size_t r = 0;
  EXPECT_NE(remove_forged_results(h, "mx.example.test", r).find("X-Mailstead-Iprev:"), std::string::npos);
}

TEST(FromDomain, ExactlyOneFromWithOneDomain) {
  EXPECT_EQ(from_domain_of("From: Alice <alice@Example.TEST>\r\n\r\n").domain, "example.test");
  EXPECT_EQ(from_domain_of("From: a@x.test, b@X.test\r\n\r\n").domain, "x.test");
  EXPECT_EQ(from_domain_of("From: a@x.test, b@y.test\r\n\r\n").error, "From addresses in different domains");
  EXPECT_EQ(from_domain_of("From: a@x.test\r\nFrom: b@x.test\r\n\r\n").error, "more than one From field");
  EXPECT_EQ(from_domain_of("Subject: x\r\n\r\n").error, "no From field");
  EXPECT_EQ(from_domain_of("From: nobody\r\n\r\n").error, "From address without a domain");
}

TEST(OrganizationalDomain, LastTwoLabelsWithoutAList) {
  EXPECT_EQ(organizational_domain("a.b.example.test"), "example.test");
  EXPECT_EQ(organizational_domain("example.test"), "example.test");
  EXPECT_EQ(organizational_domain("test"), "test");
}

}  // namespace mailstead::inbound

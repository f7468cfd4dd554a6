#include "directory/address.hpp"

#include <gtest/gtest.h>

namespace mailstead::directory {

TEST(Address, ParsesThePathForms) {
  auto a = parse_address("User.Name@Example.TEST");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local, "User.Name");
  EXPECT_EQ(a->domain, "Example.TEST");
  EXPECT_TRUE(a->has_domain);
  EXPECT_FALSE(a->quoted);

  auto q = parse_address(R"("john \"j\" doe"@example.test)");
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->quoted);
  EXPECT_EQ(q->local, "john \"j\" doe");

  auto r = parse_address("@a.example,@b.example:user@c.example");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source_route, "@a.example,@b.example");
  EXPECT_EQ(r->local, "user");

  auto ip = parse_address("user@[192.0.2.1]");
  ASSERT_TRUE(ip);
  EXPECT_TRUE(ip->ip_literal);
  EXPECT_EQ(ip->domain, "192.0.2.1");

  auto dot = parse_address("user@example.test.");
  ASSERT_TRUE(dot);
  EXPECT_TRUE(dot->trailing_dot);
  EXPECT_EQ(dot->domain, "example.test");

  auto bare = parse_address("Postmaster");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->has_domain);

  auto utf8 = parse_address("jörg@bücher.example");
  ASSERT_TRUE(utf8);
  EXPECT_EQ(utf8->local, "jörg");
}

TEST(Address, RejectsMalformedAddresses) {
  for (const char* bad : {"", "@", "a@", "@example.test", "a b@example.test", "a@b@example.test", ".a@example.test",
                          "a..b@example.test", "a.@example.test", "\"unterminated@example.test", "a@exa mple.test",
                          "a@.example.test", "a@example..test", "a@[]", "a@[1.2.3.4", "a\x01@example.test",
                          "@route.example", "a(comment)@example.test", "<a@example.test>"}) {
    EXPECT_FALSE(parse_address(bad)) << bad;
  }
}

TEST(Address, DomainsNormaliseToLowerCaseALabels) {
  EXPECT_EQ(normalize_domain("Example.TEST").value(), "example.test");
  EXPECT_EQ(normalize_domain("bücher.example").value(), "xn--bcher-kva.example");
  EXPECT_EQ(normalize_domain("BÜCHER.example").value(), "xn--bcher-kva.example");
  EXPECT_EQ(normalize_domain("XN--BCHER-KVA.example").value(), "xn--bcher-kva.example");
  EXPECT_FALSE(normalize_domain(""));
  EXPECT_FALSE(normalize_domain("-bad.example"));
  EXPECT_FALSE(normalize_domain(std::string(64, 'a') + ".example"));
  EXPECT_FALSE(normalize_domain("a..b"));
}

TEST(Address, TagsSplitAtTheFirstDelimiter) {
  std::string base, tag;
  split_tag("alice+news+daily", "+", base, tag);
  EXPECT_EQ(base, "alice");
  EXPECT_EQ(tag, "news+daily");
  split_tag("alice-news", "+", base, tag);
  EXPECT_EQ(base, "alice-news");
  EXPECT_EQ(tag, "");
  split_tag("alice-news", "-", base, tag);
  EXPECT_EQ(base, "alice");
  split_tag("+only", "+", base, tag);
  EXPECT_EQ(base, "+only") << "an empty base is not split";
  split_tag("a+b", "", base, tag);
  EXPECT_EQ(base, "a+b") << "no delimiter configured: no sub-addressing";
}

TEST(Address, AdminAddressesArePlainAndTagless) {
  EXPECT_EQ(normalize_admin_address("Alice@Example.Test", "+").value().address(), "alice@example.test");
  EXPECT_EQ(normalize_admin_address("\"alice\"@example.test", "+").value().address(), "alice@example.test");
  EXPECT_FALSE(normalize_admin_address("alice+x@example.test", "+"));
  EXPECT_TRUE(normalize_admin_address("alice+x@example.test", "-"));
  EXPECT_FALSE(normalize_admin_address("\"a b\"@example.test", "+"));
  EXPECT_FALSE(normalize_admin_address("a%b@example.test", "+"));
  EXPECT_FALSE(normalize_admin_address("a!b@example.test", "+"));
  EXPECT_FALSE(normalize_admin_address("alice", "+"));
  EXPECT_FALSE(normalize_admin_address("alice@[127.0.0.1]", "+"));
  EXPECT_FALSE(normalize_admin_address(std::string(65, 'a') + "@example.test", "+"));
}

}  // namespace mailstead::directory

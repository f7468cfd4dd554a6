// The inbound lists: CIDR parsing and matching, rule normalisation, the order in which
// lists decide, and greylisting triplets with their bounded expiry.
#include "inbound/rules.hpp"

#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "store/store.hpp"

using namespace mailstead;
using namespace mailstead::inbound;

TEST(Cidr, ParsesAndCanonicalises) {
  EXPECT_EQ(parse_cidr("192.0.2.1")->text(), "192.0.2.1");
  EXPECT_EQ(parse_cidr("192.0.2.77/24")->text(), "192.0.2.0/24");
  EXPECT_EQ(parse_cidr("2001:DB8::1/32")->text(), "2001:db8::/32");
  EXPECT_EQ(parse_cidr("::ffff:192.0.2.5")->text(), "192.0.2.5");
  EXPECT_EQ(parse_cidr("::ffff:192.0.2.5/120")->text(), "192.0.2.0/24");
  EXPECT_EQ(parse_cidr("0.0.0.0/0")->text(), "0.0.0.0/0");
  for (const char* bad : {"", "192.0.2.1/33", "2001:db8::/129", "192.0.2", "192.0.2.1/", "/24", "192.0.2.1/2a",
                          " 192.0.2.1", "example.com", "192.0.2.1/0024", "1.2.3.4.5",
                          "::ffff:192.0.2.1/140"})  // found by fuzz-cidr
    EXPECT_FALSE(parse_cidr(bad)) << bad;
}

TEST(Cidr, Contains) {
  auto net = *parse_cidr("192.0.2.0/24");
  EXPECT_TRUE(net.contains(*parse_cidr("192.0.2.200")));
  EXPECT_FALSE(net.contains(*parse_cidr("192.0.3.1")));
  EXPECT_TRUE(net.contains(*parse_cidr("::ffff:192.0.2.9")));
  EXPECT_FALSE(net.contains(*parse_cidr("2001:db8::1")));
  auto odd = *parse_cidr("10.0.0.0/13");
  EXPECT_TRUE(odd.contains(*parse_cidr("10.7.255.255")));
  EXPECT_FALSE(odd.contains(*parse_cidr("10.8.0.0")));
  auto v6 = *parse_cidr("2001:db8:abcd::/48");
  EXPECT_TRUE(v6.contains(*parse_cidr("2001:db8:abcd:1::2")));
  EXPECT_FALSE(v6.contains(*parse_cidr("2001:db8:abce::1")));
  EXPECT_TRUE(parse_cidr("::/0")->contains(*parse_cidr("::1")));
}

TEST(Rules, MakeRuleWorksOutTheKind) {
  auto ip = make_rule(List::block, "198.51.100.0/24");
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->kind, Kind::ip);
  auto d = make_rule(List::block, "@Spam.Example");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, Kind::domain);
  EXPECT_EQ(d->value, "spam.example");
  auto a = make_rule(List::allow, "Boss@Partner.Example");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Kind::address);
  EXPECT_EQ(a->value, "boss@partner.example");
  EXPECT_FALSE(make_rule(List::block, "300.1.1.1/8"));
  EXPECT_FALSE(make_rule(List::block, "192.0.2.0/40"));
  EXPECT_FALSE(make_rule(List::block, ""));
  EXPECT_FALSE(make_rule(List::block, "a@"));
  EXPECT_FALSE(make_rule(List::block, "no spaces.example"));
}

TEST(Rules, UserListsFirstAllowOverBlock) {
  mailstead::testing::TempDir dir;
  auto s = mailstead::testing::open_store(dir.path());
  auto rule = [](List l, const char* v, std::uint64_t user) {
    auto r = *make_rule(l, v);
    r.user = user;
    return r;
  };
  ASSERT_FALSE(s->commit_sync([&](store::WriteTxn& t) -> std::error_code {
    EXPECT_TRUE(add_rule(t, rule(List::block, "192.0.2.0/24", 0)));
    EXPECT_TRUE(add_rule(t, rule(List::block, "spam.example", 0)));
    EXPECT_TRUE(add_rule(t, rule(List::allow, "192.0.2.7", 0)));
    EXPECT_TRUE(add_rule(t, rule(List::allow, "friend@spam.example", 5)));
    EXPECT_TRUE(add_rule(t, rule(List::block, "2001:db8::/32", 6)));
    EXPECT_FALSE(add_rule(t, rule(List::block, "spam.example", 0)));  // twice
    return {};
  }));
  auto txn = s->read();
  auto v = evaluate(*txn, 0, make_subject("192.0.2.8", "a@b.example"));
  EXPECT_EQ(v.list, List::block);
  v = evaluate(*txn, 0, make_subject("192.0.2.7", "a@b.example"));
  EXPECT_EQ(v.list, List::allow);
  v = evaluate(*txn, 0, make_subject("198.51.100.1", "x@mail.SPAM.example"));
  EXPECT_EQ(v.list, List::block);
  EXPECT_EQ(v.kind, Kind::domain);
  v = evaluate(*txn, 0, make_subject("198.51.100.1", "x@notspam.example"));
  EXPECT_FALSE(v.list);
  v = evaluate(*txn, 5, make_subject("198.51.100.1", "Friend@spam.example"));
  EXPECT_EQ(v.list, List::allow);
  EXPECT_EQ(v.user, 5u);
  v = evaluate(*txn, 6, make_subject("2001:db8::5", ""));
  EXPECT_EQ(v.list, List::block);
  v = evaluate(*txn, 5, make_subject("2001:db8::5", ""));
  EXPECT_FALSE(v.list);
  EXPECT_EQ(list_rules(*txn).size(), 5u);
}

TEST(Greylist, NetworkAndBoundedExpiry) {
  EXPECT_EQ(greylist_network("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(greylist_network("2001:db8:1:2:3::4"), "2001:db8:1:2::/64");
  EXPECT_EQ(greylist_key("192.0.2.0/24", "A@b", "c@d"), greylist_key("192.0.2.0/24", "a@B", "c@d"));
  EXPECT_EQ(greylist_key("n", "a", "b").size(), 16u);
  mailstead::testing::TempDir dir;
  auto s = mailstead::testing::open_store(dir.path());
  ASSERT_FALSE(s->commit_sync([&](store::WriteTxn& t) {
    for (int i = 0; i < 40; ++i) put_greylist(t, greylist_key("n", "s", std::to_string(i)), {100, 0, 1000 + i}, 0);
    return std::error_code{};
  }));
  EXPECT_EQ(greylist_size(*s->read()), 40u);
  // At time 1020 the twenty expired ones go, at most 16 per write.
  ASSERT_FALSE(s->commit_sync([&](store::WriteTxn& t) {
    return put_greylist(t, greylist_key("n", "s", "new"), {1020, 0, 5000}, 1020);
  }));
  EXPECT_EQ(greylist_size(*s->read()), 41u - 16u);
  auto e = get_greylist(*s->read(), greylist_key("n", "s", "new"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->expires, 5000);
}

// The MX's inbound pieces without the network: the connection rate per IP, the DNSBL answer
// codes and reply text, the RFC 8601 iprev clause, and the [dnsbl]/[greylist] settings.
#include <gtest/gtest.h>

#include "config/source.hpp"
#include "inbound/checks.hpp"
#include "inbound/protection.hpp"
#include "inbound/settings.hpp"

using namespace mailstead;
using namespace mailstead::inbound;

TEST(InboundRate, PerIpPerMinute) {
  RateLimiter r(3);
  auto t = std::chrono::steady_clock::now();
  EXPECT_TRUE(r.admit("192.0.2.1", t));
  EXPECT_TRUE(r.admit("192.0.2.1", t));
  EXPECT_TRUE(r.admit("192.0.2.1", t));
  EXPECT_FALSE(r.admit("192.0.2.1", t));
  EXPECT_TRUE(r.admit("192.0.2.2", t));  // another address has its own budget
  EXPECT_TRUE(r.admit("192.0.2.1", t + std::chrono::seconds(20)));  // one token back after 20 s
  EXPECT_FALSE(r.admit("192.0.2.1", t + std::chrono::seconds(21)));
  RateLimiter off(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(off.admit("192.0.2.1", t));
  RateLimiter small(1, 2);  // the map stays bounded
  for (int i = 0; i < 100; ++i) small.admit("10.0.0." + std::to_string(i), t);
  EXPECT_FALSE(small.admit("10.0.0.99", t));
}

TEST(InboundDnsbl, ListingCodesAndText) {
  EXPECT_TRUE(is_listing_code("127.0.0.2"));
  EXPECT_TRUE(is_listing_code("127.0.0.11"));
  EXPECT_FALSE(is_listing_code("127.255.255.254"));  // Spamhaus: query through a public resolver
  EXPECT_FALSE(is_listing_code("192.0.2.1"));
  EXPECT_EQ(refusal_text({"bl.test", 1, "127.0.0.2", "Listed\r\n for \x01spam"}),
            "Client host blocked using bl.test: Listed   for  spam");
  EXPECT_EQ(refusal_text({"bl.test", 1, "127.0.0.2", ""}), "Client host blocked using bl.test");
  EXPECT_LE(refusal_text({"bl.test", 1, "127.0.0.2", std::string(5000, 'x')}).size(), 240u);
}

TEST(InboundIprev, MethodClause) {
  Iprev i{IprevStatus::pass, "192.0.2.1", "host.example", ""};
  EXPECT_EQ(i.method_clause(), "iprev=pass policy.iprev=192.0.2.1 (host.example)");
  i = {IprevStatus::fail, "192.0.2.1", "", "no PTR record"};
  EXPECT_EQ(i.method_clause(), "iprev=fail policy.iprev=192.0.2.1 (no PTR record)");
  i = {IprevStatus::temperror, "2001:db8::1", "", "PTR look-up timed out"};
  EXPECT_EQ(i.method_clause(), "iprev=temperror policy.iprev=2001:db8::1 (PTR look-up timed out)");
  EXPECT_EQ(Iprev{}.method_clause(), "");
}

TEST(InboundSettings, DefaultsAndKeys) {
  auto src = config::Source::from_string("");
  struct {
    ProtectionSettings inbound;
  } s;
  load_protection_settings(src, s.inbound);
  EXPECT_TRUE(s.inbound.dnsbl.enabled);
  ASSERT_EQ(s.inbound.dnsbl.zones.size(), 1u);
  EXPECT_EQ(s.inbound.dnsbl.zones[0].zone, "zen.spamhaus.org");
  EXPECT_FALSE(s.inbound.greylist.enabled);
  EXPECT_EQ(s.inbound.max_connection_rate_per_ip, 60u);
  auto src2 = config::Source::from_string(
      "[dnsbl]\nzones = [\"a.example:2\", \"B.example\"]\nthreshold = 3\ntimeout = \"500ms\"\n"
      "[greylist]\nenabled = true\ndelay = \"2s\"\n[smtpd]\nmax_connection_rate_per_ip = 5\niprev_policy = \"reject\"\n");
  load_protection_settings(src2, s.inbound);
  ASSERT_EQ(s.inbound.dnsbl.zones.size(), 2u);
  EXPECT_EQ(s.inbound.dnsbl.zones[0].weight, 2u);
  EXPECT_EQ(s.inbound.dnsbl.zones[1].zone, "b.example");
  EXPECT_EQ(s.inbound.dnsbl.threshold, 3u);
  EXPECT_EQ(s.inbound.dnsbl.timeout.count(), 500);
  EXPECT_TRUE(s.inbound.greylist.enabled);
  EXPECT_EQ(s.inbound.max_connection_rate_per_ip, 5u);
  EXPECT_TRUE(s.inbound.iprev_reject);
  for (const char* bad : {"[dnsbl]\nzones = [\"a.example:x\"]\n", "[dnsbl]\ntimeout = \"10ms\"\n",
                          "[greylist]\ndelay = \"2d\"\n", "[smtpd]\niprev_policy = \"maybe\"\n",
                          "[smtpd]\ntrusted_clients = [\"nope\"]\n", "[dnsbl]\nzones = [\"bad zone\"]\n"}) {
    auto b = config::Source::from_string(bad);
    ProtectionSettings t;
    EXPECT_THROW(load_protection_settings(b, t), config::ConfigError) << bad;
  }
}

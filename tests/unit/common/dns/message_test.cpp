#include "dns/message.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "dns/resolver.hpp"

using namespace mailstead::dns;

namespace {

// Builds a DNS response: header, one question, answer and authority records.
struct Builder {
  std::string out;
  std::uint16_t an = 0, ns = 0;
  std::size_t counts_at = 0;
  void u8(unsigned v) { out.push_back(static_cast<char>(v)); }
  void u16(unsigned v) { u8(v >> 8), u8(v & 0xff); }
  void u32(std::uint32_t v) { u16(v >> 16), u16(v & 0xffff); }
  void name(std::string_view n) {
    while (!n.empty()) {
      auto dot = n.find('.');
      auto label = n.substr(0, dot);
      u8(static_cast<unsigned>(label.size()));
      out.append(label);
      n = dot == std::string_view::npos ? "" : n.substr(dot + 1);
    }
    u8(0);
  }
  Builder(std::string_view q, Type t, unsigned rcode = 0, bool ad = false) {
    u16(0x1234);
    u16(0x8180 | rcode | (ad ? 0x20 : 0));
    u16(1);
    counts_at = out.size();
    u16(0), u16(0), u16(0);
    name(q);
    u16(static_cast<unsigned>(t));
    u16(1);
  }
  // rdata written by `body` after the fixed part
  template <class F>
  void rr(std::string_view owner, Type t, std::uint32_t ttl, F body, bool authority = false) {
    name(owner);
    u16(static_cast<unsigned>(t));
    u16(1);
    u32(ttl);
    auto len_at = out.size();
    u16(0);
    body();
    auto len = out.size() - len_at - 2;
    out[len_at] = static_cast<char>(len >> 8);
    out[len_at + 1] = static_cast<char>(len & 0xff);
    (authority ? ns : an)++;
  }
  std::string done() {
    out[counts_at] = static_cast<char>(an >> 8);
    out[counts_at + 1] = static_cast<char>(an & 0xff);
    out[counts_at + 2] = static_cast<char>(ns >> 8);
    out[counts_at + 3] = static_cast<char>(ns & 0xff);
    return out;
  }
  void soa(std::uint32_t ttl, std::uint32_t minimum) {
    rr("example.test", Type::soa, ttl, [&] {
      name("ns.example.test");
      name("admin.example.test");
      u32(1), u32(2), u32(3), u32(4), u32(minimum);
    }, true);
  }
};

}  // namespace

TEST(DnsMessage, MxSortedByPreferenceWithSmallestTtl) {
  Builder b("Example.TEST.", Type::mx);
  b.rr("example.test", Type::mx, 300, [&] { b.u16(20); b.name("MX2.example.test"); });
  b.rr("example.test", Type::mx, 120, [&] { b.u16(10); b.out += "\x03mx1\xc0\x0c"; });  // compressed
  auto a = parse_response(b.done(), "example.test", Type::mx);
  ASSERT_EQ(a.status, Status::ok) << a.error;
  ASSERT_EQ(a.mx.size(), 2u);
  EXPECT_EQ(a.mx[0].preference, 10);
  EXPECT_EQ(a.mx[0].host, "mx1.example.test");
  EXPECT_EQ(a.mx[1].host, "mx2.example.test");
  EXPECT_EQ(a.ttl, 120u);
  EXPECT_FALSE(a.authenticated);
}

TEST(DnsMessage, NullMx) {
  Builder b("nomail.test", Type::mx);
  b.rr("nomail.test", Type::mx, 60, [&] { b.u16(0); b.u8(0); });
  auto a = parse_response(b.done(), "nomail.test", Type::mx);
  ASSERT_EQ(a.status, Status::ok);
  ASSERT_EQ(a.mx.size(), 1u);
  EXPECT_EQ(a.mx[0].host, "");
}

TEST(DnsMessage, AddressesFollowCname) {
  Builder b("www.example.test", Type::a);
  b.rr("www.example.test", Type::cname, 50, [&] { b.name("host.example.test"); });
  b.rr("host.example.test", Type::a, 600, [&] { b.u8(192), b.u8(0), b.u8(2), b.u8(7); });
  b.rr("other.example.test", Type::a, 600, [&] { b.u8(10), b.u8(0), b.u8(0), b.u8(1); });
  auto a = parse_response(b.done(), "www.example.test", Type::a);
  ASSERT_EQ(a.status, Status::ok);
  ASSERT_EQ(a.addresses, std::vector<std::string>{"192.0.2.7"});
  EXPECT_EQ(a.ttl, 50u);
}

TEST(DnsMessage, Aaaa) {
  Builder b("v6.test", Type::aaaa);
  b.rr("v6.test", Type::aaaa, 60, [&] { b.u16(0x2001), b.u16(0xdb8); for (int i = 0; i < 5; ++i) b.u16(0); b.u16(1); });
  auto a = parse_response(b.done(), "v6.test", Type::aaaa);
  ASSERT_EQ(a.status, Status::ok);
  EXPECT_EQ(a.addresses, std::vector<std::string>{"2001:db8::1"});
}

TEST(DnsMessage, TxtStringsJoinedPerRecord) {
  Builder b("example.test", Type::txt);
  b.rr("example.test", Type::txt, 60, [&] { b.u8(6); b.out += "v=spf1"; b.u8(5); b.out += " -all"; });
  b.rr("example.test", Type::txt, 60, [&] { b.u8(3); b.out += "abc"; });
  auto a = parse_response(b.done(), "example.test", Type::txt);
  ASSERT_EQ(a.status, Status::ok);
  EXPECT_EQ(a.texts, (std::vector<std::string>{"v=spf1 -all", "abc"}));
}

TEST(DnsMessage, SrvRecordsSortedByPriority) {
  Builder b("_imaps._tcp.example.test", Type::srv);
  b.rr("_imaps._tcp.example.test", Type::srv, 60, [&] { b.u16(20), b.u16(5), b.u16(993); b.name("Backup.Example.test"); });
  b.rr("_imaps._tcp.example.test", Type::srv, 60, [&] { b.u16(10), b.u16(0), b.u16(993); b.name("mail.example.test"); });
  auto a = parse_response(b.done(), "_imaps._tcp.example.test", Type::srv);
  ASSERT_EQ(a.status, Status::ok);
  ASSERT_EQ(a.srv.size(), 2u);
  EXPECT_EQ(a.srv[0].priority, 10);
  EXPECT_EQ(a.srv[0].target, "mail.example.test");
  EXPECT_EQ(a.srv[1].weight, 5);
  EXPECT_EQ(a.srv[1].port, 993);
  EXPECT_EQ(a.srv[1].target, "backup.example.test");
  EXPECT_EQ(type_from_name("srv"), Type::srv);
}

TEST(DnsMessage, TlsaWithAuthenticatedData) {
  Builder b("_25._tcp.mx.example.test", Type::tlsa, 0, true);
  b.rr("_25._tcp.mx.example.test", Type::tlsa, 60, [&] { b.u8(3), b.u8(1), b.u8(1); b.out += std::string(32, '\xab'); });
  auto a = parse_response(b.done(), "_25._tcp.mx.example.test", Type::tlsa);
  ASSERT_EQ(a.status, Status::ok);
  ASSERT_EQ(a.tlsa.size(), 1u);
  EXPECT_EQ(a.tlsa[0].usage, 3);
  EXPECT_EQ(a.tlsa[0].selector, 1);
  EXPECT_EQ(a.tlsa[0].matching, 1);
  EXPECT_EQ(a.tlsa[0].data, std::string(32, '\xab'));
  EXPECT_TRUE(a.authenticated);
}

TEST(DnsMessage, PtrName) {
  Builder b("7.2.0.192.in-addr.arpa", Type::ptr);
  b.rr("7.2.0.192.in-addr.arpa", Type::ptr, 60, [&] { b.name("Mail.Example.test"); });
  auto a = parse_response(b.done(), "7.2.0.192.in-addr.arpa", Type::ptr);
  ASSERT_EQ(a.status, Status::ok);
  EXPECT_EQ(a.names, std::vector<std::string>{"mail.example.test"});
}

TEST(DnsMessage, NegativeAnswersTakeTheSoaTtl) {
  Builder nx("nope.example.test", Type::a, 3);
  nx.soa(900, 300);
  auto a = parse_response(nx.done(), "nope.example.test", Type::a);
  EXPECT_EQ(a.status, Status::nxdomain);
  EXPECT_EQ(a.ttl, 300u);
  Builder nd("example.test", Type::aaaa);
  nd.soa(60, 300);
  a = parse_response(nd.done(), "example.test", Type::aaaa);
  EXPECT_EQ(a.status, Status::nodata);
  EXPECT_EQ(a.ttl, 60u);
}

TEST(DnsMessage, ServerFailuresAndGarbage) {
  Builder sf("example.test", Type::a, 2);
  auto a = parse_response(sf.done(), "example.test", Type::a);
  EXPECT_EQ(a.status, Status::servfail);
  EXPECT_NE(a.error.find("SERVFAIL"), std::string::npos);
  Builder rf("example.test", Type::a, 5);
  EXPECT_EQ(parse_response(rf.done(), "example.test", Type::a).status, Status::servfail);
  EXPECT_EQ(parse_response("", "x", Type::a).status, Status::servfail);
  EXPECT_EQ(parse_response(std::string(12, '\0'), "x", Type::a).status, Status::servfail);  // not a response
  // A compression loop must not hang.
  Builder loop("example.test", Type::mx);
  loop.rr("example.test", Type::mx, 60, [&] { loop.u16(1); loop.out += "\xc0"; loop.u8(static_cast<unsigned>(loop.out.size() - 1)); });
  EXPECT_EQ(parse_response(loop.done(), "example.test", Type::mx).status, Status::servfail);
  // Truncated at every length: never a crash, never "ok" with garbage.
  Builder full("example.test", Type::mx);
  full.rr("example.test", Type::mx, 60, [&] { full.u16(10); full.name("mx.example.test"); });
  auto bytes = full.done();
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_NE(parse_response(bytes.substr(0, n), "example.test", Type::mx).status, Status::ok) << n;
}

TEST(DnsMessage, ReverseNames) {
  EXPECT_EQ(reverse_name("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name("192.0.2.1", "zen.example.test."), "1.2.0.192.zen.example.test");
  EXPECT_EQ(reverse_name("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(reverse_name("not an ip"), "");
  EXPECT_EQ(type_from_name("tlsa"), Type::tlsa);
  EXPECT_FALSE(type_from_name("ANY"));
}

TEST(DnsCache, HonoursTtlAndBound) {
  Cache cache(2);
  Answer a;
  a.status = Status::ok;
  a.addresses = {"192.0.2.1"};
  a.ttl = 60;
  cache.put("A.example.test.", Type::a, a);
  auto hit = cache.get("a.example.test", Type::a);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->addresses, a.addresses);
  EXPECT_LE(hit->ttl, 60u);
  EXPECT_FALSE(cache.get("a.example.test", Type::aaaa));
  cache.advance(std::chrono::seconds(61));
  EXPECT_FALSE(cache.get("a.example.test", Type::a));
  // Bounded: a third entry pushes out the least recently used.
  cache.put("1.test", Type::a, a);
  cache.put("2.test", Type::a, a);
  EXPECT_TRUE(cache.get("1.test", Type::a));
  cache.put("3.test", Type::a, a);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.get("1.test", Type::a));
  EXPECT_FALSE(cache.get("2.test", Type::a));
  // Failures and zero TTLs are never kept.
  Answer f;
  f.status = Status::timeout;
  f.ttl = 60;
  cache.put("f.test", Type::a, f);
  EXPECT_FALSE(cache.get("f.test", Type::a));
}

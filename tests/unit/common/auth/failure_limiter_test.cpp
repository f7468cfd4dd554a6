#include "auth/failure_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "../../test_support.hpp"
#include "auth/limit_table.hpp"

namespace mailstead::auth {

using namespace std::chrono_literals;

// The limiter over a real store in a temporary directory, with a clock the test moves.
class Limiter : public ::testing::Test {
 protected:
  FailureLimiter& make(FailureLimits l) {
    limiter_ = std::make_unique<FailureLimiter>(l, make_store_limit_table(*store_, bounds_of(l), clock()), clock());
    return *limiter_;
  }
  NowFn clock() {
    return [this] { return now_.load(); };
  }
  void advance(std::chrono::milliseconds d) { now_ += d.count(); }

  Decision check(const Attempt& a) {
    std::promise<Decision> p;
    limiter_->check(a, [&](Decision d) { p.set_value(d); });
    return p.get_future().get();
  }
  Decision reserve(const Attempt& a) {
    std::promise<Decision> p;
    limiter_->reserve(a, [&](Decision d) { p.set_value(d); });
    return p.get_future().get();
  }
  void succeed(const Attempt& a) {
    std::promise<void> p;
    limiter_->succeeded(a, [&] { p.set_value(); });
    p.get_future().get();
  }
  // A wrong password: the reserved slot is never given back.
  bool fail(const Attempt& a) { return reserve(a).allowed; }

  static Attempt at(const std::string& ip, const std::string& user) { return Attempt::of(ip, user); }

  mailstead::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_ = mailstead::testing::open_store(dir_.path());
  std::atomic<std::int64_t> now_{1'700'000'000'000};
  std::unique_ptr<FailureLimiter> limiter_;
};

TEST_F(Limiter, ShutsOutAnAddressForTheWindow) {
  make({.max_per_ip = 3, .max_per_account = 100, .window = 10min});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(fail(at("192.0.2.1", "user" + std::to_string(i) + "@x.test")));
  advance(1min);
  auto d = check(at("192.0.2.1", "bob@x.test"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 9min);
  EXPECT_FALSE(reserve(at("192.0.2.1", "bob@x.test")).allowed) << "refused, and not counted";
  EXPECT_TRUE(check(at("192.0.2.2", "bob@x.test")).allowed) << "other addresses are not affected";
  advance(9min);
  EXPECT_TRUE(check(at("192.0.2.1", "bob@x.test")).allowed) << "the window slides";
}

TEST_F(Limiter, AnAccountThatLoggedInFromTheAddressPassesItsRefusal) {
  make({.max_per_ip = 10, .max_per_account = 20, .window = 15min, .account_delay = 2s, .trusted_ttl = 30 * 24h});
  auto alice = at("198.51.100.7", "alice@x.test");
  ASSERT_TRUE(reserve(alice).allowed);
  succeed(alice);
  advance(24h);
  // 30 wrong logins for alice (a phone with an old password) and 10 for others from the same address
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(fail(alice)) << "alice is never refused here";
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fail(at("198.51.100.7", "guess" + std::to_string(i) + "@x.test")));
  auto d = check(alice);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.trusted);
  EXPECT_EQ(d.delay, 2s) << "only the per-account slow-down applies";
  EXPECT_EQ(d.address_failures, 10u) << "a trusted account's failures do not count against the address";
  EXPECT_FALSE(check(at("198.51.100.7", "carol@x.test")).allowed) << "an unknown guesser stays refused";
  EXPECT_TRUE(check(at("198.51.100.7", "ALICE@x.test")).trusted) << "the account key is normalised";
  EXPECT_FALSE(check(at("203.0.113.1", "alice@x.test")).trusted) << "trust is per address";
  advance(30 * 24h);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fail(at("198.51.100.7", "guess" + std::to_string(i) + "@x.test")));
  EXPECT_FALSE(check(alice).allowed) << "trust expires";
}

TEST_F(Limiter, ASuccessForgivesOnlyThatAccountsFailuresAtThatAddress) {
  make({.max_per_ip = 10, .max_per_account = 100, .window = 15min});
  const std::string ip = "192.0.2.50";
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(fail(at(ip, "victim" + std::to_string(i) + "@x.test")));
  auto own = at(ip, "mallory@x.test");  // an account the guesser owns
  ASSERT_TRUE(reserve(own).allowed);
  succeed(own);
  EXPECT_EQ(check(at(ip, "victim@x.test")).address_failures, 9u) << "nothing laundered";
  int checked = 0;
  for (int i = 0; i < 9; ++i) checked += fail(at(ip, "victim" + std::to_string(i) + "@x.test"));
  EXPECT_EQ(checked, 1) << "one slot was left, then refused";
}

TEST_F(Limiter, ASuccessForgivesTheUsersOwnTypos) {
  make({.max_per_ip = 3, .max_per_account = 3, .window = 15min, .account_delay = 2s});
  auto bob = at("192.0.2.9", "bob@x.test");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(fail(bob));
  ASSERT_TRUE(fail(at("192.0.2.9", "other@x.test")));
  ASSERT_TRUE(fail(at("203.0.113.9", "bob@x.test")));  // someone elsewhere
  EXPECT_EQ(check(bob).delay, 2s);
  ASSERT_TRUE(reserve(bob).allowed == false) << "3 failures: the address is refused for bob too (not yet trusted)";
  // the right password, from the verified cache (which needs no slot)
  succeed(bob);
  auto d = check(bob);
  EXPECT_EQ(d.address_failures, 1u) << "bob's two typos forgiven, other@'s failure kept";
  EXPECT_EQ(d.account_failures, 1u) << "the failure from elsewhere is kept";
  EXPECT_EQ(d.delay, 0s);
}

TEST_F(Limiter, ParallelReservationsNeverExceedTheBudget) {
  make({.max_per_ip = 10, .max_per_account = 100, .window = 15min});
  std::atomic<int> allowed = 0, answered = 0;
  std::promise<void> all;
  for (int i = 0; i < 30; ++i)
    limiter_->reserve(at("192.0.2.77", "guess" + std::to_string(i) + "@x.test"), [&](Decision d) {
      allowed += d.allowed;
      if (++answered == 30) all.set_value();
    });
  all.get_future().get();
  EXPECT_EQ(allowed.load(), 10);
}

TEST_F(Limiter, AccountsAreSlowedNeverLockedOut) {
  make({.max_per_ip = 1000, .max_per_account = 5, .window = 10min, .account_delay = 3s});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(fail(at("198.51.100." + std::to_string(i), "bob@x.test")));
  auto d = check(at("203.0.113.9", "bob@x.test"));
  EXPECT_TRUE(d.allowed) << "the real user's address can still log in";
  EXPECT_EQ(d.delay, 3s) << "the delay is the setting";
  EXPECT_EQ(check(at("203.0.113.9", "alice@x.test")).delay, 0s);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(fail(at("198.51.100.1" + std::to_string(i), "bob@x.test")));
  EXPECT_TRUE(check(at("203.0.113.9", "bob@x.test")).allowed);
  advance(11min);
  EXPECT_EQ(check(at("203.0.113.9", "bob@x.test")).delay, 0s);
}

TEST_F(Limiter, AccountKeyIsNormalisedLikeRouting) {
  EXPECT_EQ(account_key("Bob@B\xc3\xbc" "cher.Example"), "bob@xn--bcher-kva.example");
  EXPECT_EQ(account_key("BOB@xn--bcher-kva.example"), "bob@xn--bcher-kva.example");
  EXPECT_EQ(account_key("Not An Address"), "not an address");
  make({.max_per_ip = 1000, .max_per_account = 2, .window = 10min, .account_delay = 2s});
  ASSERT_TRUE(fail(at("192.0.2.1", "Bob@B\xc3\xbc" "cher.example")));
  ASSERT_TRUE(fail(at("192.0.2.2", "bob@XN--BCHER-KVA.example")));
  EXPECT_EQ(check(at("192.0.2.3", "bob@b\xc3\xbc" "cher.example")).delay, 2s) << "one count for every spelling";
}

TEST_F(Limiter, AddressKeyGroupsAnIpv6SubscriberPrefix) {
  EXPECT_EQ(address_key("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(address_key("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("2001:DB8:1:2:bbbb::9"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("[2001:db8:1:3::1]"), "2001:db8:1:3::/64");
  make({.max_per_ip = 2, .max_per_account = 100, .window = 10min});
  ASSERT_TRUE(fail(at("2001:db8:1:2::1", "a@x.test")));
  ASSERT_TRUE(fail(at("2001:db8:1:2::2", "b@x.test")));
  EXPECT_FALSE(check(at("2001:db8:1:2:ffff::3", "c@x.test")).allowed) << "hopping within the /64 does not help";
  EXPECT_TRUE(check(at("2001:db8:1:9::1", "c@x.test")).allowed);
}

TEST_F(Limiter, TablesEvictTheOldestEntriesNotAll) {
  make({.max_per_ip = 1, .max_per_account = 100, .window = 1h, .failure_entries = 3});
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(fail(at("192.0.2." + std::to_string(i), "u" + std::to_string(i) + "@x.test")));
    advance(1s);
  }
  EXPECT_TRUE(check(at("192.0.2.1", "z@x.test")).allowed) << "the oldest were evicted";
  EXPECT_TRUE(check(at("192.0.2.2", "z@x.test")).allowed);
  for (int i = 3; i <= 5; ++i)
    EXPECT_FALSE(check(at("192.0.2." + std::to_string(i), "z@x.test")).allowed) << "the newest are kept: " << i;
}

TEST_F(Limiter, TrustedLoginsAreBoundedByEvictingTheOldest) {
  make({.max_per_ip = 1, .max_per_account = 100, .window = 1h, .trusted_ttl = 24h, .trusted_entries = 2});
  for (auto user : {"a@x.test", "b@x.test", "c@x.test"}) {
    succeed(at("192.0.2.1", user));
    advance(1s);
  }
  ASSERT_TRUE(fail(at("192.0.2.1", "guess@x.test")));
  EXPECT_FALSE(check(at("192.0.2.1", "a@x.test")).trusted) << "evicted";
  EXPECT_TRUE(check(at("192.0.2.1", "b@x.test")).trusted);
  EXPECT_TRUE(check(at("192.0.2.1", "c@x.test")).trusted);
}

TEST_F(Limiter, TrustCanBeTurnedOff) {
  make({.max_per_ip = 1, .max_per_account = 100, .window = 1h, .trusted_ttl = 0ms});
  succeed(at("192.0.2.1", "a@x.test"));
  ASSERT_TRUE(fail(at("192.0.2.1", "guess@x.test")));
  EXPECT_FALSE(check(at("192.0.2.1", "a@x.test")).allowed);
}

TEST_F(Limiter, LoginsWithNothingToForgiveWriteNothing) {
  make({});
  auto a = at("192.0.2.1", "a@x.test");
  succeed(a);
  auto before = store_->generation();
  for (int i = 0; i < 5; ++i) succeed(a);
  EXPECT_EQ(store_->generation(), before) << "a webmail logging in on every request costs no commit";
  for (int i = 0; i < 5; ++i) check(a);
  EXPECT_EQ(store_->generation(), before);
}

TEST_F(Limiter, TwoLimitersOverOneTableShareTheBudget) {
  // Each service has its own limiter; the table is what they share.
  FailureLimits l{.max_per_ip = 4, .max_per_account = 100, .window = 15min};
  FailureLimiter smtpd(l, make_store_limit_table(*store_, bounds_of(l), clock()), clock());
  FailureLimiter imapd(l, make_store_limit_table(*store_, bounds_of(l), clock()), clock());
  auto once = [](FailureLimiter& f, const Attempt& a) {
    std::promise<Decision> p;
    f.reserve(a, [&](Decision d) { p.set_value(d); });
    return p.get_future().get().allowed;
  };
  EXPECT_TRUE(once(smtpd, at("192.0.2.1", "a@x.test")));
  EXPECT_TRUE(once(imapd, at("192.0.2.1", "b@x.test")));
  EXPECT_TRUE(once(smtpd, at("192.0.2.1", "c@x.test")));
  EXPECT_TRUE(once(imapd, at("192.0.2.1", "d@x.test")));
  EXPECT_FALSE(once(smtpd, at("192.0.2.1", "e@x.test")));
  EXPECT_FALSE(once(imapd, at("192.0.2.1", "e@x.test")));
}

TEST(LimitTable, RecordsExpireAndTheCountFollows) {
  mailstead::testing::TempDir dir;
  auto store = mailstead::testing::open_store(dir.path());
  std::int64_t now = 1'000'000;
  LimitBounds b;
  b[0] = {10s, 100};
  b[1] = {10s, 100};
  b[2] = {10s, 100};
  auto table = make_store_limit_table(*store, b, [&] { return now; });
  auto put = [&](const std::string& id, const std::string& v) {
    std::promise<bool> p;
    table->update({{LimitKind::address, id}}, [v](LimitValues& vals) { vals[0] = v; return true; },
                  [&](bool ok) { p.set_value(ok); });
    return p.get_future().get();
  };
  auto get = [&](const std::string& id) {
    std::optional<std::string> out;
    table->read({{LimitKind::address, id}}, [&](LimitValues v) { out = v[0]; });
    return out;
  };
  ASSERT_TRUE(put(std::string(16, 'a'), "one"));
  EXPECT_EQ(get(std::string(16, 'a')), "one");
  now += 10'000;
  EXPECT_EQ(get(std::string(16, 'a')), std::nullopt) << "expired";
  ASSERT_TRUE(put(std::string(16, 'b'), "two"));  // sweeps the expired record on its way
  auto txn = store->read();
  std::size_t records = 0;
  auto c = txn->cursor(store::Table::auth_limits);
  for (bool ok = c->first(); ok; ok = c->next()) records += c->key().starts_with("r");
  EXPECT_EQ(records, 1u);
}

}  // namespace mailstead::auth

#include "auth/password.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "../../test_support.hpp"
#include "auth/login.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"

namespace mailstead::auth {

TEST(Password, Argon2idOnly) {
  auto h = hash_password("correct horse");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(verify_password(*h, "correct horse"));
  EXPECT_FALSE(verify_password(*h, "correct horse "));
  EXPECT_FALSE(verify_password("$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA", "x"));
  EXPECT_FALSE(verify_password("plaintext", "plaintext"));
  EXPECT_NE(*h, hash_password("correct horse").value()) << "salted";
}

TEST(Password, Limits) {
  EXPECT_FALSE(hash_password(""));
  EXPECT_FALSE(hash_password(std::string(1025, 'a')));
  EXPECT_FALSE(hash_password(std::string("a\0b", 3)));
}

TEST(VerifiedCache, RemembersOnlyTheSameUserHashAndPassword) {
  VerifiedCache c(std::chrono::seconds(60), 100);
  c.remember(1, "hash-a", "pw");
  EXPECT_TRUE(c.check(1, "hash-a", "pw"));
  EXPECT_FALSE(c.check(1, "hash-a", "PW"));
  EXPECT_FALSE(c.check(2, "hash-a", "pw"));
  EXPECT_FALSE(c.check(1, "hash-b", "pw")) << "a changed password hash invalidates the entry";
}

TEST(VerifiedCache, EntriesExpire) {
  VerifiedCache c(std::chrono::milliseconds(50), 100);
  c.remember(1, "h", "pw");
  EXPECT_TRUE(c.check(1, "h", "pw"));
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_FALSE(c.check(1, "h", "pw"));
}

TEST(VerifiedCache, BoundedInSize) {
  VerifiedCache c(std::chrono::seconds(60), 10);
  for (int i = 0; i < 100; ++i) c.remember(i, "h", "pw");
  EXPECT_LE(c.size(), 10u);
  VerifiedCache off(std::chrono::seconds(60), 0);
  off.remember(1, "h", "pw");
  EXPECT_FALSE(off.check(1, "h", "pw"));
}

TEST(VerifiedCache, EvictsTheOldestNotAll) {
  VerifiedCache c(std::chrono::seconds(60), 10);
  for (int i = 0; i < 11; ++i) {
    c.remember(i, "h", "pw");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // distinct expiry times
  }
  EXPECT_FALSE(c.check(0, "h", "pw")) << "the oldest went";
  for (int i = 1; i < 11; ++i) EXPECT_TRUE(c.check(i, "h", "pw")) << i;
}

TEST(Login, FromTheCacheAloneOnlyAnEnabledUsersVerifiedPassword) {
  testing::TempDir dir;
  auto store = testing::open_store(dir.path());
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) -> std::error_code {
    directory::add_domain(t, "example.test").value();
    directory::add_user(t, {"bob@example.test", hash_password("pw-bob").value(), "", 0}).value();
    return {};
  }));
  VerifiedCache cache(std::chrono::seconds(60), 100);
  EXPECT_FALSE(login_from_cache(*store, cache, "bob@example.test", "pw-bob")) << "not verified yet";
  ASSERT_EQ(login(*store, cache, "bob@example.test", "pw-bob").status, LoginStatus::ok);
  auto r = login_from_cache(*store, cache, "Bob@Example.TEST", "pw-bob");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, LoginStatus::ok);
  EXPECT_EQ(r->address, "bob@example.test");
  EXPECT_TRUE(r->from_cache);
  EXPECT_FALSE(login_from_cache(*store, cache, "bob@example.test", "wrong"));
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) -> std::error_code {
    directory::set_enabled(t, "bob@example.test", false).value();
    return {};
  }));
  EXPECT_FALSE(login_from_cache(*store, cache, "bob@example.test", "pw-bob"));
}

TEST(Login, PrimaryAddressEnabledUserRightPassword) {
  testing::TempDir dir;
  auto store = testing::open_store(dir.path());
  auto hash = hash_password("pw-alice").value();
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) -> std::error_code {
    directory::add_domain(t, "example.test").value();
    directory::add_user(t, {"alice@example.test", hash, "", 0}).value();
    directory::add_alias(t, "info@example.test", "alice@example.test").value();
    return {};
  }));
  VerifiedCache cache(std::chrono::seconds(60), 100);
  auto ok = login(*store, cache, "Alice@Example.test", "pw-alice");
  EXPECT_EQ(ok.status, LoginStatus::ok);
  EXPECT_EQ(ok.address, "alice@example.test");
  EXPECT_FALSE(ok.from_cache);
  EXPECT_TRUE(login(*store, cache, "alice@example.test", "pw-alice").from_cache);
  EXPECT_EQ(login(*store, cache, "alice@example.test", "wrong").status, LoginStatus::bad_credentials);
  EXPECT_EQ(login(*store, cache, "info@example.test", "pw-alice").status, LoginStatus::bad_credentials)
      << "users log in with their primary address only";
  EXPECT_EQ(login(*store, cache, "nobody@example.test", "x").status, LoginStatus::bad_credentials);

  // A new password: the old one stops working at once, cache or not.
  auto hash2 = hash_password("pw-new").value();
  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) -> std::error_code {
    directory::set_password_hash(t, "alice@example.test", hash2).value();
    return {};
  }));
  EXPECT_EQ(login(*store, cache, "alice@example.test", "pw-alice").status, LoginStatus::bad_credentials);
  EXPECT_EQ(login(*store, cache, "alice@example.test", "pw-new").status, LoginStatus::ok);

  ASSERT_FALSE(store->commit_sync([&](store::WriteTxn& t) -> std::error_code {
    directory::set_enabled(t, "alice@example.test", false).value();
    return {};
  }));
  EXPECT_EQ(login(*store, cache, "alice@example.test", "pw-new").status, LoginStatus::disabled);
}

}  // namespace mailstead::auth

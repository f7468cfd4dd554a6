// Directory writes check before they change anything: a refused change writes nothing.
#include "directory/directory.hpp"
#include "sieve/storage.hpp"

#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "store/mailstore.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"

namespace mailstead::directory {

namespace {

class Directory : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::open_store(dir_.path());
    apply([](WriteTxn& t) -> Result<void> {
      add_domain(t, "example.test").value();
      add_user(t, {"alice@example.test", "h", "Alice", 0}).value();
      add_user(t, {"bob@example.test", "h", "", 0}).value();
      add_alias(t, "info@example.test", "alice@example.test").value();
      add_group(t, "team@example.test", {"alice@example.test", "bob@example.test"}).value();
      return {};
    });
  }

  // Runs a change the way the admin layer does: an error undoes the batch.
  template <class Fn>
  Result<void> apply(Fn fn) {
    std::optional<Result<void>> out;
    store_->commit_sync([&](WriteTxn& t) -> std::error_code {
      out.emplace(fn(t));
      return out->has_value() ? std::error_code{} : store::Errc::aborted;
    });
    return *out;
  }

  std::size_t count(store::Table t) {
    auto r = store_->read();
    std::size_t n = 0;
    auto c = r->cursor(t);
    for (bool ok = c->first(); ok; ok = c->next()) ++n;
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(Directory, NewUsersGetTheSpecialUseMailboxes) {
  auto r = store_->read();
  auto u = find_user(*r, "alice@example.test");
  ASSERT_TRUE(u);
  auto boxes = store::list_mailboxes(*r, u->id);
  std::map<std::string, std::string> got;
  for (auto& b : boxes) got[b.name] = b.special_use;
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"INBOX", ""}, {"Sent", "\\Sent"}, {"Drafts", "\\Drafts"},
                                                      {"Trash", "\\Trash"}, {"Spam", "\\Junk"},
                                                      {"Archive", "\\Archive"}}));
}

TEST_F(Directory, AddressesAreClaimedOnce) {
  auto users = count(store::Table::users), aliases = count(store::Table::aliases);
  auto mailboxes = count(store::Table::mailboxes);
  auto e1 = apply([](WriteTxn& t) -> Result<void> {
    auto r = add_alias(t, "alice@example.test", "bob@example.test");
    if (!r) return r.error();
    return {};
  });
  ASSERT_FALSE(e1);
  EXPECT_EQ(e1.error().kind, ErrorKind::conflict);
  EXPECT_NE(e1.error().message.find("already a user"), std::string::npos);
  auto e2 = apply([](WriteTxn& t) -> Result<void> {
    auto r = add_user(t, {"info@example.test", "h", "", 0});
    if (!r) return r.error();
    return {};
  });
  ASSERT_FALSE(e2);
  EXPECT_NE(e2.error().message.find("already a alias"), std::string::npos);
  auto e3 = apply([](WriteTxn& t) -> Result<void> {
    auto r = add_group(t, "info@example.test", {});
    if (!r) return r.error();
    return {};
  });
  EXPECT_FALSE(e3);
  auto e4 = apply([](WriteTxn& t) -> Result<void> {
    auto r = add_user(t, {"x@unknown.test", "h", "", 0});
    if (!r) return r.error();
    return {};
  });
  ASSERT_FALSE(e4);
  EXPECT_EQ(e4.error().kind, ErrorKind::not_found);
  // A change that fails half-way leaves nothing behind either.
  auto e5 = apply([](WriteTxn& t) -> Result<void> {
    add_user(t, {"carol@example.test", "h", "", 0}).value();
    auto r = add_group(t, "g@example.test", {"carol@example.test", "nobody@example.test"});
    if (!r) return r.error();
    return {};
  });
  EXPECT_FALSE(e5);
  EXPECT_EQ(count(store::Table::users), users);
  EXPECT_EQ(count(store::Table::aliases), aliases);
  EXPECT_EQ(count(store::Table::mailboxes), mailboxes);
  EXPECT_FALSE(find_user(*store_->read(), "carol@example.test"));
}

TEST_F(Directory, EachUsersAliasesAreIndexed) {
  auto alice = find_user(*store_->read(), "alice@example.test").value();
  EXPECT_EQ(aliases_of(*store_->read(), alice.id), std::vector<std::string>{"info@example.test"});
  ASSERT_TRUE(apply([](WriteTxn& t) -> Result<void> {
    add_alias(t, "Sales@example.test", "alice@example.test").value();
    return remove_alias(t, "INFO@example.test");
  }));
  EXPECT_EQ(aliases_of(*store_->read(), alice.id), std::vector<std::string>{"sales@example.test"});
  EXPECT_EQ(count(store::Table::alias_by_user), 1u);
  ASSERT_TRUE(apply([](WriteTxn& t) { return remove_user(t, "alice@example.test"); }));
  EXPECT_EQ(count(store::Table::alias_by_user), 0u);
  EXPECT_EQ(count(store::Table::aliases), 0u);
}

TEST_F(Directory, SchemaSixBuildsTheAliasIndexOfAnOlderStore) {
  ASSERT_TRUE(apply([](WriteTxn& t) -> Result<void> {
    add_alias(t, "sales@example.test", "bob@example.test").value();
    // As a version-5 store had it: aliases without their index.
    std::vector<std::string> keys;
    auto c = t.cursor(store::Table::alias_by_user);
    for (bool ok = c->first(); ok; ok = c->next()) keys.emplace_back(c->key());
    for (const auto& k : keys) t.del(store::Table::alias_by_user, k);
    if (auto ec = store::schema::set_version(t, 5)) return internal(ec.message());
    return {};
  }));
  EXPECT_EQ(count(store::Table::alias_by_user), 0u);
  store_->close();
  store_ = testing::open_store(dir_.path());  // opening migrates
  EXPECT_EQ(store::schema::version(*store_->read()), 6u);
  auto r = store_->read();
  EXPECT_EQ(aliases_of(*r, find_user(*r, "alice@example.test")->id), std::vector<std::string>{"info@example.test"});
  EXPECT_EQ(aliases_of(*r, find_user(*r, "bob@example.test")->id), std::vector<std::string>{"sales@example.test"});
}

TEST_F(Directory, ADomainWithAccountsCannotBeRemoved) {
  auto e = apply([](WriteTxn& t) { return remove_domain(t, "example.test"); });
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("2 users, 1 aliases and 1 groups"), std::string::npos) << e.error().message;
  EXPECT_TRUE(get_domain(*store_->read(), "example.test"));
}

TEST_F(Directory, RemovingAUserRemovesWhatPointsAtIt) {
  ASSERT_TRUE(apply([](WriteTxn& t) { return set_catchall(t, "example.test", {"alice@example.test", "bob@example.test"}); }));
  ASSERT_TRUE(apply([](WriteTxn& t) -> Result<void> {
    for (const char* who : {"alice@example.test", "bob@example.test"}) {
      auto id = find_user(t, who)->id;
      sieve::put_script(t, id, "rules", "keep;");
      sieve::set_active(t, id, "rules");
      sieve::track(t, id, 'v', "someone", 1);
    }
    return {};
  }));
  ASSERT_TRUE(apply([](WriteTxn& t) { return remove_user(t, "alice@example.test"); }));
  EXPECT_EQ(count(store::Table::sieve_scripts), 1u) << "only bob's script remains";
  EXPECT_EQ(count(store::Table::sieve_active), 1u);
  EXPECT_EQ(count(store::Table::sieve_tracking), 1u);
  auto r = store_->read();
  EXPECT_FALSE(find_user(*r, "alice@example.test"));
  EXPECT_FALSE(get_alias(*r, "info@example.test"));
  EXPECT_EQ(get_group(*r, "team@example.test")->members.size(), 1u);
  EXPECT_EQ(get_domain(*r, "example.test")->catchall.size(), 1u);
  EXPECT_EQ(count(store::Table::mailboxes), 6u) << "only bob's six mailboxes remain";
}

TEST_F(Directory, GroupMembership) {
  EXPECT_FALSE(apply([](WriteTxn& t) { return add_group_member(t, "team@example.test", "alice@example.test"); }));
  EXPECT_TRUE(apply([](WriteTxn& t) { return remove_group_member(t, "team@example.test", "info@example.test"); }))
      << "a member can be named by an alias";
  EXPECT_FALSE(apply([](WriteTxn& t) { return remove_group_member(t, "team@example.test", "alice@example.test"); }));
  EXPECT_FALSE(apply([](WriteTxn& t) { return add_group_member(t, "nogroup@example.test", "bob@example.test"); }));
  EXPECT_TRUE(apply([](WriteTxn& t) { return set_group_policy(t, "team@example.test", PostingPolicy::domain); }));
  EXPECT_EQ(get_group(*store_->read(), "team@example.test")->policy, PostingPolicy::domain);
}

}  // namespace
}  // namespace mailstead::directory

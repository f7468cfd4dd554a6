// IMAP subscriptions kept by name (schema 3, issue 9.10): independent of the mailbox's
// existence, and migrated from the flag MailboxRecord carried in schema 2.
#include <gtest/gtest.h>

#include "../../test_support.hpp"
#include "store/mailstore.hpp"
#include "store/records.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::store {

using testing::open_store;
using testing::TempDir;

TEST(Subscriptions, ByNameAndIndependentOfExistence) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::uint64_t box = 0;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    box = create_mailbox(t, 1, "Work").value();        // subscribed when created
    create_mailbox(t, 1, "Quiet", "", false).value();  // not
    create_mailbox(t, 2, "Work").value();               // another user's
    return set_subscription(t, 1, "Gone/Child", true);  // no such mailbox
  }));
  EXPECT_EQ(subscriptions(*s->read(), 1), (std::vector<std::string>{"Gone/Child", "Work"}));
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) { return delete_mailbox(t, box); }));
  auto r = s->read();
  EXPECT_TRUE(is_subscribed(*r, 1, "Work")) << "DELETE leaves the subscription";
  EXPECT_FALSE(is_subscribed(*r, 1, "Quiet"));
  auto boxes = list_mailboxes(*r, 1);
  ASSERT_EQ(boxes.size(), 1u);
  EXPECT_FALSE(boxes[0].subscribed);
  r.reset();
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) { return set_subscription(t, 1, "Work", false); }));
  EXPECT_EQ(subscriptions(*s->read(), 1), (std::vector<std::string>{"Gone/Child"}));
  EXPECT_EQ(subscriptions(*s->read(), 2), (std::vector<std::string>{"Work"}));
}

TEST(Subscriptions, MigratedFromTheMailboxFlag) {
  TempDir dir;
  {
    auto s = open_store(dir.path());
    ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
      // A schema-2 store: the flag on the record, no subscriptions table rows.
      for (auto [name, sub] : {std::pair{"INBOX", true}, std::pair{"Lists/a", true}, std::pair{"Old", false}}) {
        auto id = create_mailbox(t, 5, name, "", false).value();
        auto m = get_mailbox(t, id).value();
        m.subscribed = sub;
        if (auto ec = t.put(Table::mailboxes, key_u64(id), m.encode())) return ec;
      }
      return schema::set_version(t, 2);
    }));
    EXPECT_TRUE(subscriptions(*s->read(), 5).empty());
  }
  auto s = open_store(dir.path());
  EXPECT_EQ(schema::version(*s->read()), schema::current_version);
  EXPECT_EQ(subscriptions(*s->read(), 5), (std::vector<std::string>{"INBOX", "Lists/a"}));
}

}  // namespace mailstead::store

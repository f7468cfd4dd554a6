// The store contract: group commit, per-batch undo, map growth, schema migration,
// and the mailbox rules IMAP relies on (UIDs, MODSEQs, blob reference counts).
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <condition_variable>
#include <thread>

#include "../../test_support.hpp"
#include "store/mailstore.hpp"
#include "store/records.hpp"
#include "store/schema.hpp"
#include "util/bytes.hpp"

namespace mailstead::store {

using testing::open_store;
using testing::TempDir;

TEST(Store, CommitThenRead) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto ec = s->commit_sync([](WriteTxn& t) { return t.put(Table::meta, "k", "v"); });
  ASSERT_FALSE(ec);
  auto r = s->read();
  auto v = r->get(Table::meta, "k");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "v");
  EXPECT_FALSE(r->get(Table::meta, "missing"));
}

TEST(Store, AFailingBatchIsUndoneAloneAndOthersInItsGroupCommit) {
  TempDir dir;
  auto s = open_store(dir.path());
  // Hold the writer busy so the next three batches are taken as one group.
  std::mutex m;
  std::condition_variable cv;
  bool release = false, entered = false;
  s->submit(
      [&](WriteTxn&) {
        std::unique_lock l(m);
        entered = true;
        cv.notify_all();
        cv.wait(l, [&] { return release; });
        return std::error_code{};
      },
      [](std::error_code) {});
  {
    std::unique_lock l(m);
    cv.wait(l, [&] { return entered; });
  }
  std::atomic<int> done{0};
  std::error_code ec_a, ec_b, ec_c;
  s->submit([](WriteTxn& t) { return t.put(Table::meta, "a", "1"); }, [&](std::error_code ec) { ec_a = ec; ++done; });
  s->submit(
      [](WriteTxn& t) {
        t.put(Table::meta, "b", "half-written");
        return std::error_code(Errc::aborted);
      },
      [&](std::error_code ec) { ec_b = ec; ++done; });
  s->submit([](WriteTxn& t) { return t.put(Table::meta, "c", "3"); }, [&](std::error_code ec) { ec_c = ec; ++done; });
  {
    std::lock_guard l(m);
    release = true;
  }
  cv.notify_all();
  while (done < 3) std::this_thread::yield();
  EXPECT_FALSE(ec_a);
  EXPECT_EQ(ec_b, Errc::aborted);
  EXPECT_FALSE(ec_c);
  auto r = s->read();
  EXPECT_TRUE(r->get(Table::meta, "a"));
  EXPECT_FALSE(r->get(Table::meta, "b"));
  EXPECT_TRUE(r->get(Table::meta, "c"));
}

TEST(Store, CompletionComesAfterTheDataIsReadable) {
  TempDir dir;
  auto s = open_store(dir.path());
  constexpr int n = 2000;
  std::atomic<int> missing{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < n / 8; ++i) {
        auto key = "k" + std::to_string(t) + "-" + std::to_string(i);
        auto ec = s->commit_sync([key](WriteTxn& w) { return w.put(Table::meta, key, "x"); });
        if (ec || !s->read()->get(Table::meta, key)) ++missing;
        ++done;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(done, n);
  EXPECT_EQ(missing, 0);
}

TEST(Store, ASnapshotsChangeCounterNamesTheCommitsItHolds) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto before = s->read();
  ASSERT_FALSE(s->commit_sync([](WriteTxn& t) { return t.put(Table::meta, "c", "1"); }));
  auto after = s->read();
  EXPECT_GT(after->change_counter(), before->change_counter());
  EXPECT_FALSE(before->get(Table::meta, "c"));  // the older snapshot keeps its view
  EXPECT_TRUE(after->get(Table::meta, "c"));
  // Once a commit has completed, the store's hint and a new snapshot agree.
  EXPECT_EQ(s->generation(), after->change_counter());
  EXPECT_GE(s->generation(), before->change_counter());
}

TEST(Store, ACountedTablesChangesAreCountedOncePerBatchAndUndoneWithIt) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto start = s->read()->table_changes(Table::aliases);
  auto users = s->read()->table_changes(Table::users);
  // Two puts and a delete in one batch: one change.
  ASSERT_FALSE(s->commit_sync([](WriteTxn& t) {
    if (auto ec = t.put(Table::aliases, "a@x.test", "1")) return ec;
    if (auto ec = t.put(Table::aliases, "b@x.test", "1")) return ec;
    t.del(Table::aliases, "b@x.test");
    return std::error_code{};
  }));
  EXPECT_EQ(s->read()->table_changes(Table::aliases), start + 1);
  EXPECT_EQ(s->read()->table_changes(Table::users), users);  // another table: unchanged
  // Mail traffic (an uncounted table) moves the change counter, not the count.
  auto counter = s->read()->change_counter();
  ASSERT_FALSE(s->commit_sync([](WriteTxn& t) { return t.put(Table::messages, "m", "1"); }));
  EXPECT_GT(s->read()->change_counter(), counter);
  EXPECT_EQ(s->read()->table_changes(Table::aliases), start + 1);
  // A batch that fails is undone with its count; a delete counts too.
  EXPECT_TRUE(s->commit_sync([](WriteTxn& t) {
    t.put(Table::aliases, "c@x.test", "1");
    return make_error_code(Errc::aborted);
  }));
  EXPECT_EQ(s->read()->table_changes(Table::aliases), start + 1);
  EXPECT_FALSE(s->read()->get(Table::aliases, "c@x.test"));
  ASSERT_FALSE(s->commit_sync([](WriteTxn& t) {
    t.del(Table::aliases, "a@x.test");
    return std::error_code{};
  }));
  EXPECT_EQ(s->read()->table_changes(Table::aliases), start + 2);
  // Deleting what is absent changes nothing and counts nothing.
  ASSERT_FALSE(s->commit_sync([](WriteTxn& t) {
    t.del(Table::aliases, "a@x.test");
    return std::error_code{};
  }));
  EXPECT_EQ(s->read()->table_changes(Table::aliases), start + 2);
}

TEST(Store, TransactionsOpenOnThisThreadAreCounted) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto base = transactions_open_on_this_thread();
  {
    auto a = s->read();
    auto b = s->read();
    EXPECT_EQ(transactions_open_on_this_thread(), base + 2);
    std::size_t elsewhere = 99;
    std::thread([&] { elsewhere = transactions_open_on_this_thread(); }).join();
    EXPECT_EQ(elsewhere, 0u);  // per thread: another session's thread is not blamed
  }
  EXPECT_EQ(transactions_open_on_this_thread(), base);
  EXPECT_TRUE(no_transaction_open("test"));
  // The writer's transactions live on the writer thread.
  ASSERT_FALSE(s->commit_sync([&](WriteTxn&) {
    EXPECT_EQ(transactions_open_on_this_thread(), 1u);
    return std::error_code{};
  }));
  EXPECT_EQ(transactions_open_on_this_thread(), base);
}

#ifdef NDEBUG
TEST(Store, ATransactionAcrossASuspensionIsReported) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto txn = s->read();
  EXPECT_FALSE(no_transaction_open("test"));  // release builds log it at error level
}
#else
TEST(StoreDeathTest, ATransactionAcrossASuspensionAborts) {
  TempDir dir;
  auto s = open_store(dir.path());
  auto txn = s->read();
  EXPECT_DEATH(no_transaction_open("test"), "");
}
#endif

TEST(Store, MapGrowsPastItsInitialSize) {
  TempDir dir;
  auto s = open_store(dir.path(), 1 << 20);  // 1 MiB
  std::string value(64 * 1024, 'x');
  for (int i = 0; i < 200; ++i) {  // ~12.5 MiB in all
    value[0] = static_cast<char>(i);
    ASSERT_FALSE(s->commit_sync([&, i](WriteTxn& t) { return t.put(Table::blobs, key_u64(i), value); }))
        << "batch " << i;
  }
  EXPECT_GT(s->map_size(), 12u << 20);
  auto r = s->read();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(r->get(Table::blobs, key_u64(i))) << i;
}

TEST(Store, AGroupLargerThanTheMapIsRetriedAfterGrowth) {
  TempDir dir;
  auto s = open_store(dir.path(), 1 << 20);
  std::string value(3 << 20, 'y');  // one batch bigger than the whole initial map
  EXPECT_FALSE(s->commit_sync([&](WriteTxn& t) { return t.put(Table::blobs, "big", value); }));
  EXPECT_EQ(s->read()->get(Table::blobs, "big")->size(), value.size());
}

TEST(Store, ReopenSeesCommittedData) {
  TempDir dir;
  {
    auto s = open_store(dir.path());
    ASSERT_FALSE(s->commit_sync([](WriteTxn& t) { return t.put(Table::meta, "persist", "yes"); }));
  }
  auto s = open_store(dir.path());
  EXPECT_EQ(*s->read()->get(Table::meta, "persist"), "yes");
  EXPECT_EQ(schema::version(*s->read()), schema::current_version);
}

TEST(Store, RefusesAStoreFromANewerProgram) {
  TempDir dir;
  {
    auto s = open_store(dir.path());
    ASSERT_FALSE(s->commit_sync([](WriteTxn& t) { return schema::set_version(t, schema::current_version + 1); }));
  }
  std::error_code ec;
  std::string why;
  auto s = open({dir.path() + "/store"}, ec, why);
  EXPECT_FALSE(s);
  EXPECT_EQ(ec, Errc::version);
  EXPECT_NE(why.find("newer"), std::string::npos) << why;
}

// A populated version-1 store: mailboxes in the v1 layout, messages in them.
TEST(Store, MigratesAPopulatedStoreFromVersion1To2) {
  TempDir dir;
  std::uint64_t inbox = 0, sent = 0;
  {
    auto s = open_store(dir.path());
    ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
      inbox = create_mailbox(t, 1, "INBOX").value();
      sent = create_mailbox(t, 1, "Sent", "\\Sent").value();
      for (int i = 0; i < 30; ++i) {
        std::string body = "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n";
        auto key = blob_key(body);
        put_blob(t, key, body);
        MessageRecord m;
        m.blob = key;
        m.flags = i % 3 == 0 ? std::uint32_t{flag_seen} : 0u;
        append(t, i < 20 ? inbox : sent, m).value();
      }
      // Rewrite every mailbox in the version-1 layout and stamp version 1.
      for (auto id : {inbox, sent}) {
        auto m = get_mailbox(t, id).value();
        if (auto ec = t.put(Table::mailboxes, key_u64(id), m.encode_v1())) return ec;
      }
      return schema::set_version(t, 1);
    }));
    EXPECT_FALSE(get_mailbox(*s->read(), inbox)) << "a v1 record must not decode as v2";
  }
  // The upgrade backs the old store up first.
  std::error_code ec;
  std::string why;
  Options o{dir.path() + "/store", 64 << 20, 126};
  o.backup_before_upgrade = dir.path() + "/backups";
  auto s = open(o, ec, why);
  ASSERT_TRUE(s) << why;
  std::vector<std::filesystem::path> backups;
  for (auto& e : std::filesystem::directory_iterator(o.backup_before_upgrade)) backups.push_back(e.path());
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(backups[0].filename().string().rfind("pre-upgrade-schema-1-", 0), 0u) << backups[0];
  {
    // The copy is the store before the migration: still version 1, still v1 records.
    Options copy{backups[0].string(), 64 << 20, 126};
    copy.backup_before_upgrade = "";
    auto old = open(copy, ec, why);  // opening migrates the copy (without a backup of it)
    ASSERT_TRUE(old) << why;
    auto m = get_mailbox(*old->read(), inbox);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->messages, 20u);
  }
  auto r = s->read();
  EXPECT_EQ(schema::version(*r), schema::current_version);  // and on through later versions
  auto in = get_mailbox(*r, inbox);
  auto se = get_mailbox(*r, sent);
  ASSERT_TRUE(in && se);
  EXPECT_EQ(in->messages, 20u);
  EXPECT_EQ(in->unseen, 13u);  // i = 0..19, seen when i % 3 == 0: 7 seen
  EXPECT_EQ(se->messages, 10u);
  EXPECT_EQ(se->unseen, 7u);   // i = 20..29: 21, 24, 27 seen
  EXPECT_EQ(in->uidnext, 21u);
  EXPECT_GT(in->bytes, 0u);
}

TEST(Store, CopyIsAConsistentCompactedSnapshot) {
  TempDir dir;
  auto s = open_store(dir.path());
  ASSERT_FALSE(s->commit_sync([](WriteTxn& t) -> std::error_code {
    for (int i = 0; i < 500; ++i)
      if (auto ec = t.put(Table::meta, "k" + std::to_string(i), std::string(1000, 'x'))) return ec;
    return {};
  }));
  ASSERT_FALSE(s->commit_sync([](WriteTxn& t) -> std::error_code {
    for (int i = 0; i < 400; ++i) t.del(Table::meta, "k" + std::to_string(i));
    return {};
  }));
  std::string why;
  ASSERT_FALSE(s->copy_to(dir.path() + "/copy", why)) << why;
  EXPECT_LT(std::filesystem::file_size(dir.path() + "/copy/data.mdb"),
            std::filesystem::file_size(dir.path() + "/store/data.mdb"));
  std::error_code ec;
  auto c = open({dir.path() + "/copy", 64 << 20, 126}, ec, why);
  ASSERT_TRUE(c) << why;
  EXPECT_FALSE(c->read()->get(Table::meta, "k0"));
  EXPECT_EQ(c->read()->get(Table::meta, "k499").value().size(), 1000u);
}

TEST(Store, InUseWhileAnotherProcessHasItOpen) {
  TempDir dir;
  open_store(dir.path()).reset();
  EXPECT_FALSE(in_use(dir.path() + "/store"));
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    auto s = open_store(dir.path());
    char c = 1;
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_TRUE(in_use(dir.path() + "/store"));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(in_use(dir.path() + "/store"));  // a killed process holds nothing
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(Mailstore, FlagUpdatesApplyToWhatIsStored) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::uint64_t box = 0;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    box = create_mailbox(t, 1, "INBOX").value();
    for (int i = 0; i < 3; ++i) {
      std::string body = "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n";
      put_blob(t, blob_key(body), body);
      MessageRecord m;
      m.blob = blob_key(body);
      m.keywords = {"$Old"};
      append(t, box, m).value();
    }
    return {};
  }));
  auto run = [&](const std::vector<std::uint32_t>& uids, const FlagUpdate& u) {
    std::vector<FlagOutcome> out;
    EXPECT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
      out = update_flags(t, box, uids, u).value();
      return {};
    }));
    return out;
  };
  using Kind = FlagOutcome::Kind;
  // Two sessions add different flags, each knowing nothing of the other: both stay.
  run({1, 2}, {FlagOp::add, flag_flagged, {"$A"}, std::nullopt});
  auto out = run({1, 2}, {FlagOp::add, flag_answered, {"$b"}, std::nullopt});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Kind::changed);
  EXPECT_EQ(out[0].flags, flag_flagged | flag_answered);
  EXPECT_EQ(out[0].keywords, (std::vector<std::string>{"$Old", "$A", "$b"}));
  // A keyword already there in another case is not added twice; removal ignores case.
  out = run({1}, {FlagOp::add, 0, {"$a", "$OLD"}, std::nullopt});
  EXPECT_EQ(out[0].kind, Kind::unchanged);
  auto before = get_message(*s->read(), box, 1)->modseq;
  EXPECT_EQ(out[0].modseq, before);  // nothing changed: the MODSEQ stays
  out = run({1}, {FlagOp::remove, flag_answered, {"$OLD", "$B"}, std::nullopt});
  EXPECT_EQ(out[0].flags, std::uint32_t{flag_flagged});
  EXPECT_EQ(out[0].keywords, (std::vector<std::string>{"$A"}));
  EXPECT_GT(out[0].modseq, before);
  // Replace; a missing UID is reported gone.
  out = run({3, 9}, {FlagOp::replace, flag_seen, {"x", "X"}, std::nullopt});
  EXPECT_EQ(out[0].flags, std::uint32_t{flag_seen});
  EXPECT_EQ(out[0].keywords, (std::vector<std::string>{"x"}));
  EXPECT_EQ(out[1].kind, Kind::gone);
  // The unseen total follows (3 unseen, then message 3 seen).
  EXPECT_EQ(get_mailbox(*s->read(), box)->unseen, 2u);
  EXPECT_EQ(get_mailbox(*s->read(), box)->highestmodseq, get_message(*s->read(), box, 3)->modseq);
}

TEST(Mailstore, UnchangedSinceIsCheckedAgainstTheRecordItChanges) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::uint64_t box = 0;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    box = create_mailbox(t, 1, "INBOX").value();
    for (int i = 0; i < 2; ++i) {
      std::string body = "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n";
      put_blob(t, blob_key(body), body);
      MessageRecord m;
      m.blob = blob_key(body);
      append(t, box, m).value();
    }
    return {};
  }));
  auto known = get_message(*s->read(), box, 1)->modseq;
  auto known2 = get_message(*s->read(), box, 2)->modseq;
  // Two conditional changes with the same knowledge, committed in one group: the first
  // wins, the second finds the MODSEQ moved.
  std::vector<FlagOutcome> first, second;
  std::mutex m;
  std::condition_variable cv;
  int done = 0;
  auto submit = [&](std::vector<FlagOutcome>& out, const char* kw) {
    s->submit(
        [&, kw](WriteTxn& t) -> std::error_code {
          out = update_flags(t, box, {1, 2}, {FlagOp::add, 0, {kw}, std::max(known, known2)}).value();
          return {};
        },
        [&](std::error_code) {
          std::lock_guard l(m);
          ++done;
          cv.notify_all();
        });
  };
  submit(first, "$a");
  submit(second, "$b");
  std::unique_lock l(m);
  cv.wait(l, [&] { return done == 2; });
  EXPECT_EQ(first[0].kind, FlagOutcome::Kind::changed);
  EXPECT_EQ(first[1].kind, FlagOutcome::Kind::changed);
  EXPECT_EQ(second[0].kind, FlagOutcome::Kind::modified);
  EXPECT_EQ(second[1].kind, FlagOutcome::Kind::modified);
  EXPECT_EQ(second[0].keywords, (std::vector<std::string>{"$a"}));  // as stored, untouched
  EXPECT_EQ(get_message(*s->read(), box, 1)->keywords, (std::vector<std::string>{"$a"}));
}

TEST(Mailstore, UidsAndModseqsOnlyGrow) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::uint64_t box = 0;
  std::vector<Appended> added;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    box = create_mailbox(t, 7, "INBOX").value();
    added.clear();
    for (int i = 0; i < 3; ++i) {
      std::string body = "m" + std::to_string(i);
      auto key = blob_key(body);
      put_blob(t, key, body);
      MessageRecord m;
      m.blob = key;
      added.push_back(append(t, box, m).value());
    }
    return {};
  }));
  EXPECT_EQ(added[0].uid, 1u);
  EXPECT_EQ(added[2].uid, 3u);
  EXPECT_LT(added[0].modseq, added[1].modseq);
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) { return expunge(t, box, 3); }));
  Appended after{};
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    std::string body = "m-new";
    auto key = blob_key(body);
    put_blob(t, key, body);
    MessageRecord m;
    m.blob = key;
    after = append(t, box, m).value();
    return {};
  }));
  EXPECT_EQ(after.uid, 4u) << "a UID is never reused (RFC 3501 2.3.1.1)";
  auto r = s->read();
  auto mb = get_mailbox(*r, box).value();
  EXPECT_EQ(mb.messages, 3u);
  EXPECT_EQ(mb.highestmodseq, after.modseq);
  // The expunge log holds (MODSEQ → UID) for QRESYNC's VANISHED.
  auto c = r->cursor(Table::expunge_log);
  ASSERT_TRUE(c->seek(key_u64(box)));
  EXPECT_EQ(get_be32(c->value()), 3u);
  EXPECT_GT(get_be64(c->key().substr(8)), added[2].modseq);
}

TEST(Mailstore, OneBlobPerContentFreedWithItsLastMessage) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::string body = "From: a@b\r\n\r\nshared\r\n";
  auto key = blob_key(body);
  std::uint64_t a = 0, b = 0;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    a = create_mailbox(t, 1, "INBOX").value();
    b = create_mailbox(t, 2, "INBOX").value();
    put_blob(t, key, body);
    for (auto box : {a, b}) {
      MessageRecord m;
      m.blob = key;
      m.prefix = "Delivered-To: x\r\n";
      append(t, box, m).value();
    }
    return {};
  }));
  {
    auto r = s->read();
    EXPECT_EQ(get_blob_ref(*r, key)->refs, 2u);
    EXPECT_EQ(get_message(*r, a, 1)->size, body.size() + 17);
  }
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) { return expunge(t, a, 1); }));
  EXPECT_TRUE(get_blob(*s->read(), key));
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) { return delete_mailbox(t, b); }));
  auto r = s->read();
  EXPECT_FALSE(get_blob(*r, key));
  EXPECT_FALSE(get_blob_ref(*r, key));
  EXPECT_FALSE(get_mailbox(*r, b));
  EXPECT_FALSE(find_mailbox(*r, 2, "INBOX"));
}

TEST(Mailstore, MailboxNamesAreUniquePerOwnerAndUidvalidityChanges) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::uint32_t first = 0, second = 0;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    auto id = create_mailbox(t, 1, "Work").value();
    EXPECT_FALSE(create_mailbox(t, 1, "Work"));
    EXPECT_TRUE(create_mailbox(t, 2, "Work"));
    first = get_mailbox(t, id)->uidvalidity;
    delete_mailbox(t, id);
    second = get_mailbox(t, create_mailbox(t, 1, "Work").value())->uidvalidity;
    return {};
  }));
  EXPECT_NE(first, second) << "a recreated mailbox needs a new UIDVALIDITY";
}

TEST(Mailstore, QueueHoldsABlobReference) {
  TempDir dir;
  auto s = open_store(dir.path());
  std::string body = "queued";
  auto key = blob_key(body);
  std::uint64_t id = 0;
  ASSERT_FALSE(s->commit_sync([&](WriteTxn& t) -> std::error_code {
    put_blob(t, key, body);
    QueueRecord q;
    q.sender = "a@example.test";
    q.recipients = {"x@remote.example"};
    q.blob = key;
    id = enqueue(t, q).value();
    return {};
  }));
  auto r = s->read();
  auto v = r->get(Table::queue, key_u64(id));
  ASSERT_TRUE(v);
  auto q = QueueRecord::decode(*v);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->recipients.front(), "x@remote.example");
  EXPECT_EQ(get_blob_ref(*r, key)->refs, 1u);
}

}  // namespace mailstead::store

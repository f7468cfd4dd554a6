// The IDLE watcher, driven step by step over a fake store that can commit a change its
// commit counter already shows but a new snapshot does not hold yet (the window LMDB has
// between writing the meta page and handing the commit to new readers), and over the real
// store with its own thread.
#include "watcher.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <map>

#include "../../test_support.hpp"
#include "store/mailstore.hpp"
#include "store/records.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::imap {
namespace {

namespace asio = boost::asio;

// Commits are snapshots of mailbox records; generation() names the newest commit while
// read() hands out the newest *published* one, as LMDB does inside its window.
class FakeStore final : public store::Store {
 public:
  struct Snapshot {
    std::uint64_t counter = 0;
    std::map<std::uint64_t, store::MailboxRecord> boxes;
  };

  FakeStore() { commits_.push_back({1, {}}); }

  // A commit setting the mailbox's HIGHESTMODSEQ (0: deleting it). Readers see it only
  // once published.
  void commit(std::uint64_t mailbox, std::uint64_t modseq, bool publish_now = true) {
    std::lock_guard lock(mu_);
    auto next = commits_.back();
    ++next.counter;
    if (modseq) {
      auto& m = next.boxes[mailbox];
      m.id = mailbox;
      m.highestmodseq = modseq;
    } else {
      next.boxes.erase(mailbox);
    }
    commits_.push_back(std::move(next));
    if (publish_now) visible_ = commits_.size() - 1;
  }
  void publish() {
    std::lock_guard lock(mu_);
    visible_ = commits_.size() - 1;
  }
  int reads() const { return reads_; }

  std::unique_ptr<store::ReadTxn> read() override {
    std::lock_guard lock(mu_);
    ++reads_;
    return std::make_unique<Txn>(commits_[visible_]);
  }
  std::uint64_t generation() override {
    std::lock_guard lock(mu_);
    return commits_.back().counter;
  }
  void submit(store::BatchFn, store::Completion done) override { done(store::Errc::io); }
  void close() override {}
  std::uint64_t map_size() const override { return 0; }
  std::error_code copy_to(const std::string&, std::string& why) override {
    why = "not supported";
    return store::Errc::io;
  }

 private:
  class Txn final : public store::ReadTxn {
   public:
    explicit Txn(Snapshot s) : snap_(std::move(s)) {
      for (const auto& [id, m] : snap_.boxes) values_[key_u64(id)] = m.encode();
    }
    std::optional<std::string_view> get(store::Table t, std::string_view key) override {
      if (t != store::Table::mailboxes) return std::nullopt;
      auto it = values_.find(std::string(key));
      if (it == values_.end()) return std::nullopt;
      return std::string_view(it->second);
    }
    std::unique_ptr<store::Cursor> cursor(store::Table) override { return nullptr; }
    std::uint64_t change_counter() const override { return snap_.counter; }

   private:
    Snapshot snap_;
    std::map<std::string, std::string> values_;
  };

  std::mutex mu_;
  std::vector<Snapshot> commits_;
  std::size_t visible_ = 0;
  int reads_ = 0;
};

struct Session {
  explicit Session(asio::io_context& io) : wake(std::make_shared<Wake>(io.get_executor())) {}
  std::shared_ptr<Wake> wake;
};

// Runs what the watcher posted to the sessions' executor; true when `s` was woken (and
// clears it, as the session does when it looks).
bool woken(asio::io_context& io, Session& s) {
  io.restart();
  io.poll();
  bool w = s.wake->woken;
  s.wake->woken = false;
  return w;
}

TEST(Watcher, ACommitInsideTheWindowIsNotLost) {
  FakeStore store;
  store.commit(7, 5);
  asio::io_context io;
  Watcher watcher(store, std::chrono::milliseconds(1), /*threaded=*/false);
  Session s(io);
  watcher.watch(7, 5, io.get_executor(), s.wake);
  watcher.check();  // the first look after watch(): nothing new
  EXPECT_FALSE(woken(io, s));

  // A delivery commits: the counter shows it, a snapshot begun now does not hold it yet.
  store.commit(7, 6, /*publish_now=*/false);
  watcher.check();
  EXPECT_FALSE(woken(io, s));  // it cannot see the change yet

  // Readers get it now. The watcher must look again although the counter has not moved
  // since its last look: it remembered the snapshot's counter, not the store's.
  store.publish();
  watcher.check();
  EXPECT_TRUE(woken(io, s));

  // And then rests until the next commit.
  int reads = store.reads();
  watcher.check();
  EXPECT_EQ(store.reads(), reads);
  EXPECT_FALSE(woken(io, s));
}

TEST(Watcher, WakesOnlyTheSessionsOfTheChangedMailbox) {
  FakeStore store;
  store.commit(1, 10);
  store.commit(2, 20);
  asio::io_context io;
  Watcher watcher(store, std::chrono::milliseconds(1), false);
  Session a(io), b(io), a2(io);
  watcher.watch(1, 10, io.get_executor(), a.wake);
  watcher.watch(2, 20, io.get_executor(), b.wake);
  watcher.watch(1, 10, io.get_executor(), a2.wake);
  watcher.check();
  store.commit(2, 21);
  watcher.check();
  EXPECT_FALSE(woken(io, a));
  EXPECT_TRUE(woken(io, b));
  EXPECT_FALSE(woken(io, a2));
  store.commit(1, 11);
  watcher.check();
  EXPECT_TRUE(woken(io, a));
  EXPECT_TRUE(woken(io, a2));
  EXPECT_FALSE(woken(io, b));
}

TEST(Watcher, AChangeBeforeWatchingWakesAtTheFirstLook) {
  // The session read HIGHESTMODSEQ 5; a commit landed before it registered.
  FakeStore store;
  store.commit(3, 6);
  asio::io_context io;
  Watcher watcher(store, std::chrono::milliseconds(1), false);
  watcher.check();  // nobody watches: nothing read
  EXPECT_EQ(store.reads(), 0);
  Session s(io);
  watcher.watch(3, 5, io.get_executor(), s.wake);
  watcher.check();
  EXPECT_TRUE(woken(io, s));
}

TEST(Watcher, ADeletedMailboxWakesItsSessions) {
  FakeStore store;
  store.commit(4, 9);
  asio::io_context io;
  Watcher watcher(store, std::chrono::milliseconds(1), false);
  Session s(io);
  watcher.watch(4, 9, io.get_executor(), s.wake);
  watcher.check();
  store.commit(4, 0);
  watcher.check();
  EXPECT_TRUE(woken(io, s));
}

TEST(Watcher, RedisNoticeWakesAtOnceAndUnwatchStops) {
  FakeStore store;
  store.commit(5, 1);
  asio::io_context io;
  Watcher watcher(store, std::chrono::milliseconds(1), false);
  Session s(io);
  auto token = watcher.watch(5, 1, io.get_executor(), s.wake);
  watcher.changed(5);
  EXPECT_TRUE(woken(io, s));
  watcher.changed(6);
  EXPECT_FALSE(woken(io, s));
  watcher.unwatch(token);
  watcher.changed(5);
  store.commit(5, 2);
  watcher.check();
  EXPECT_FALSE(woken(io, s));
}

TEST(Watcher, AGoneSessionIsSkipped) {
  FakeStore store;
  store.commit(8, 1);
  asio::io_context io;
  Watcher watcher(store, std::chrono::milliseconds(1), false);
  auto s = std::make_unique<Session>(io);
  watcher.watch(8, 1, io.get_executor(), s->wake);
  s.reset();  // the session ended without unwatching yet
  store.commit(8, 2);
  watcher.check();
  io.poll();  // nothing to wake, nothing crashes
}

// The real store and the watcher's own thread: each commit by another writer wakes the
// session (waits on a condition with a generous bound; no timing is asserted).
TEST(Watcher, RealStoreEveryCommitWakes) {
  testing::TempDir dir;
  auto st = testing::open_store(dir.path());
  std::uint64_t box = 0;
  ASSERT_FALSE(st->commit_sync([&](store::WriteTxn& t) -> std::error_code {
    auto r = store::create_mailbox(t, 1, "INBOX");
    if (!r) return store::Errc::aborted;
    box = *r;
    return {};
  }));
  std::uint64_t known = store::get_mailbox(*st->read(), box)->highestmodseq;
  Watcher watcher(*st, std::chrono::milliseconds(1));
  asio::io_context io;
  auto busy = asio::make_work_guard(io);  // run_for waits instead of spinning
  for (int i = 0; i < 50; ++i) {
    Session s(io);
    auto token = watcher.watch(box, known, io.get_executor(), s.wake);
    ASSERT_FALSE(st->commit_sync([&](store::WriteTxn& t) -> std::error_code {
      auto m = store::get_mailbox(t, box);
      m->highestmodseq += 1;
      return t.put(store::Table::mailboxes, key_u64(box), m->encode());
    }));
    ++known;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool got = false;
    while (!got && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
      got = s.wake->woken;
    }
    EXPECT_TRUE(got) << "commit " << i << " did not wake the session";
    watcher.unwatch(token);
  }
}

}  // namespace
}  // namespace mailstead::imap

// The LMDB backend of store.hpp: the only file that includes <lmdb.h>. It hides LMDB's
// recoverable conditions (MDB_MAP_FULL grows the map, MDB_MAP_RESIZED adopts another
// process's growth, MDB_READERS_FULL clears stale readers) and runs the group-commit writer.
#include <fcntl.h>
#include <lmdb.h>
#include <unistd.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"

namespace mailstead::store {

namespace {

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

std::error_code from_mdb(int rc) {
  switch (rc) {
    case MDB_SUCCESS: return {};
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return Errc::full;  // LMDB passes the file system's errno through
    case MDB_MAP_FULL: return Errc::map_full;
    case MDB_READERS_FULL: return Errc::readers_full;
    case MDB_BAD_VALSIZE: return Errc::too_large;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID: return Errc::corrupt;
    default: return Errc::io;
  }
}

// The errno names an operator greps for; LMDB's own codes by mdb_strerror alone.
const char* cause(int rc) {
  switch (rc) {
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EFBIG: return "EFBIG";
    case EIO: return "EIO";
    case EROFS: return "EROFS";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case MDB_MAP_FULL: return "MDB_MAP_FULL";
    case MDB_READERS_FULL: return "MDB_READERS_FULL";
    case MDB_CORRUPTED: return "MDB_CORRUPTED";
    case MDB_PANIC: return "MDB_PANIC";
  }
  return "";
}

class LmdbCursor final : public Cursor {
 public:
  LmdbCursor(MDB_txn* txn, MDB_dbi dbi) { mdb_cursor_open(txn, dbi, &cur_); }
  ~LmdbCursor() override {
    if (cur_) mdb_cursor_close(cur_);
  }
  bool seek(std::string_view key) override {
    k_ = val(key);
    return move(MDB_SET_RANGE);
  }
  bool first() override { return move(MDB_FIRST); }
  bool last() override { return move(MDB_LAST); }
  bool next() override { return move(MDB_NEXT); }
  bool prev() override { return move(MDB_PREV); }
  bool valid() const override { return valid_; }
  std::string_view key() const override { return view(k_); }
  std::string_view value() const override { return view(v_); }

 private:
  bool move(MDB_cursor_op op) {
    valid_ = cur_ && mdb_cursor_get(cur_, &k_, &v_, op) == MDB_SUCCESS;
    return valid_;
  }
  MDB_cursor* cur_ = nullptr;
  MDB_val k_{}, v_{};
  bool valid_ = false;
};

using Dbis = std::array<MDB_dbi, table_count>;

class LmdbTxn : public WriteTxn {
 public:
  LmdbTxn(MDB_txn* txn, const Dbis& dbis) : txn_(txn), dbis_(dbis) {}
  std::optional<std::string_view> get(Table t, std::string_view key) override {
    MDB_val k = val(key), v{};
    if (mdb_get(txn_, dbi(t), &k, &v) != MDB_SUCCESS) return std::nullopt;
    return view(v);
  }
  std::unique_ptr<Cursor> cursor(Table t) override { return std::make_unique<LmdbCursor>(txn_, dbi(t)); }
  // LMDB's transaction ID: a read transaction's is the last commit its snapshot holds.
  std::uint64_t change_counter() const override { return static_cast<std::uint64_t>(mdb_txn_id(txn_)); }
  std::error_code put(Table t, std::string_view key, std::string_view value) override {
    MDB_val k = val(key), v = val(value);
    int rc = mdb_put(txn_, dbi(t), &k, &v, 0);
    if (rc == MDB_MAP_FULL) map_full_ = true;
    if (rc == MDB_SUCCESS) rc = count_change(t);
    return from_mdb(rc);
  }
  bool del(Table t, std::string_view key) override {
    MDB_val k = val(key);
    int rc = mdb_del(txn_, dbi(t), &k, nullptr);
    if (rc == MDB_MAP_FULL) map_full_ = true;  // deleting can need a page too
    if (rc == MDB_SUCCESS && count_change(t) != MDB_SUCCESS) return false;
    return rc == MDB_SUCCESS;
  }
  bool map_full() const { return map_full_; }

 protected:
  MDB_dbi dbi(Table t) const { return dbis_[static_cast<int>(t)]; }

  // The first change of a counted table in this batch adds 1 to its count (store.hpp
  // counted_table), in the batch's own child transaction: undone with the batch.
  int count_change(Table t) {
    if (!counted_table(t) || counted_[static_cast<int>(t)]) return MDB_SUCCESS;
    auto key = changes_key(t);
    MDB_val k = val(key), v{};
    std::uint64_t n = 0;
    if (mdb_get(txn_, dbi(Table::meta), &k, &v) == MDB_SUCCESS && v.mv_size == 8)
      for (unsigned char c : view(v)) n = (n << 8) | c;
    ++n;
    unsigned char buf[8];
    for (int i = 7; i >= 0; --i, n >>= 8) buf[i] = static_cast<unsigned char>(n & 0xff);
    MDB_val nv{sizeof buf, buf};
    int rc = mdb_put(txn_, dbi(Table::meta), &k, &nv, 0);
    if (rc == MDB_MAP_FULL) map_full_ = true;
    if (rc == MDB_SUCCESS) counted_[static_cast<int>(t)] = true;
    return rc;
  }

  MDB_txn* txn_;
  const Dbis& dbis_;
  bool map_full_ = false;
  std::array<bool, table_count> counted_{};
};

// A read-only transaction. It holds the resize lock shared, so the map is never
// resized under it; read transactions are short, so the writer's wait is short.
class LmdbReadTxn final : public LmdbTxn {
 public:
  LmdbReadTxn(MDB_txn* txn, const Dbis& dbis, std::shared_lock<std::shared_mutex> lock)
      : LmdbTxn(txn, dbis), lock_(std::move(lock)) {}
  ~LmdbReadTxn() override { mdb_txn_abort(txn_); }
  std::error_code put(Table, std::string_view, std::string_view) override { return Errc::io; }
  bool del(Table, std::string_view) override { return false; }

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

// The writer's metrics (docs/metrics.md): each batch's time from submit to durable (or
// failed), and the groups and batches committed; a few atomic adds per group.
struct CommitMetrics {
  metrics::Histogram& seconds = metrics::process().histogram(
      "mailstead_store_commit_seconds", "Time from submitting a store change to its durable group commit",
      metrics::latency_buckets());
  metrics::Counter& groups = metrics::process().counter("mailstead_store_commit_groups_total",
                                                        "Group commits (one transaction and one fsync each)");
  metrics::Counter& ok = metrics::process().counter("mailstead_store_commit_batches_total",
                                                    "Store changes committed, by result", {{"result", "ok"}});
  metrics::Counter& failed = metrics::process().counter("mailstead_store_commit_batches_total", "", {{"result", "error"}});
  template <class Group>
  void observe(const Group& group) {
    auto now = std::chrono::steady_clock::now();
    ++groups;
    for (const auto& item : group) {
      seconds.observe(std::chrono::duration<double>(now - item.submitted).count());
      ++(item.result ? failed : ok);
    }
  }
};

class LmdbStore final : public Store {
 public:
  ~LmdbStore() override {
    close();
    if (env_) mdb_env_close(env_);
  }

  std::error_code open(const Options& o, std::string& why) {
    opts_ = o;
    std::error_code fs_ec;
    std::filesystem::create_directories(o.path, fs_ec);
    if (fs_ec) { why = "cannot create " + o.path + ": " + fs_ec.message(); return Errc::io; }
    int rc = mdb_env_create(&env_);
    if (rc == MDB_SUCCESS) rc = mdb_env_set_maxdbs(env_, table_count + 1);
    if (rc == MDB_SUCCESS) rc = mdb_env_set_maxreaders(env_, o.max_readers);
    if (rc == MDB_SUCCESS) rc = mdb_env_set_mapsize(env_, o.map_size);
    if (rc == MDB_SUCCESS) rc = mdb_env_open(env_, o.path.c_str(), MDB_NOTLS, 0640);
    if (rc != MDB_SUCCESS) { why = "cannot open the store in " + o.path + ": " + mdb_strerror(rc); return from_mdb(rc); }
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    map_size_ = info.me_mapsize;  // another process may have grown it already

    // Open every table and bring the schema up to date, before the writer starts. Only the
    // process holding the write lock migrates (and backs up first); others then find the
    // current version.
    std::vector<Item> group(1);
    std::string migrate_why;
    group[0].fn = [&](WriteTxn& t) {
      auto v = schema::version(t);
      if (v != 0 && v < schema::current_version && !o.backup_before_upgrade.empty()) {
        auto dir = o.backup_before_upgrade + "/pre-upgrade-schema-" + std::to_string(v) + "-" +
                   std::to_string(std::time(nullptr));
        // The copy reads the last committed snapshot: the store before this migration.
        if (auto ec = copy_to(dir, migrate_why)) {
          migrate_why = "not migrating the store without a backup: " + migrate_why;
          return ec;
        }
        log::info("store.upgrade.backup", {{"from", v}, {"to", schema::current_version}, {"dir", dir}});
      }
      return schema::migrate(t, migrate_why);
    };
    auto ec = run_group(group, /*open_tables=*/true);
    if (!ec) ec = group[0].result;
    if (ec) { why = migrate_why.empty() ? "cannot initialise the store: " + ec.message() : migrate_why; return ec; }
    writer_ = std::thread([this] { writer_loop(); });
    return {};
  }

  std::unique_ptr<ReadTxn> read() override {
    for (int attempt = 0;; ++attempt) {
      std::shared_lock lock(resize_mu_);
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
      if (rc == MDB_SUCCESS) return std::make_unique<LmdbReadTxn>(txn, dbis_, std::move(lock));
      lock.unlock();
      if (rc == MDB_MAP_RESIZED && attempt < 8) { adopt_resize(); continue; }
      if (rc == MDB_READERS_FULL && attempt < 8) {
        int dead = 0;
        mdb_reader_check(env_, &dead);
        if (dead == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1 << attempt));
        continue;
      }
      log::error("store.read.failed", {{"error", mdb_strerror(rc)}});
      std::abort();  // no snapshot can be had: the store is unusable in this process
    }
  }

  void submit(BatchFn fn, Completion done) override {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back(Item{std::move(fn), std::move(done), {}, {}, std::chrono::steady_clock::now()});
        cv_.notify_one();
        return;
      }
    }
    done(Errc::shutting_down);
  }

  void close() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  std::uint64_t map_size() const override { return map_size_.load(); }

  std::error_code copy_to(const std::string& dir, std::string& why) override {
    std::error_code fs_ec;
    std::filesystem::create_directories(dir, fs_ec);
    if (fs_ec) { why = "cannot create " + dir + ": " + fs_ec.message(); return Errc::io; }
    // MDB_CP_COMPACT walks one read snapshot and never takes the writer lock, so it runs
    // beside the writer (even inside this process's own write transaction).
    int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT);
    if (rc != MDB_SUCCESS) { why = "cannot copy the store to " + dir + ": " + mdb_strerror(rc); return from_mdb(rc); }
    return {};
  }

  // The meta page's transaction ID: written (and synced) before mdb_txn_begin hands the
  // commit to new readers, hence only a hint (store.hpp).
  std::uint64_t generation() override {
    std::shared_lock lock(resize_mu_);
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    return static_cast<std::uint64_t>(info.me_last_txnid);
  }

 private:
  struct Item {
    BatchFn fn;
    Completion done;
    std::error_code result;
    std::vector<std::uint64_t> touched;  // mailboxes it changed, once committed
    std::chrono::steady_clock::time_point submitted;
  };

  // A write the disk refused: logged here, where the cause is known, at error level (the
  // session that waited logs its own line too). LMDB reports a short write as EIO ("file
  // system full?"); with (almost) no space left on the store's file system that is ENOSPC.
  std::error_code failed(const char* what, int rc, std::size_t batches) {
    std::uint64_t free_bytes = 0;
    struct statvfs fs {};
    bool known = ::statvfs(opts_.path.c_str(), &fs) == 0;
    if (known) free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (rc == EIO && known && free_bytes < (1u << 20)) rc = ENOSPC;
    log::error("store.commit.failed", {{"step", what}, {"cause", cause(rc)}, {"error", mdb_strerror(rc)},
                                       {"batches", batches}, {"free_bytes", known ? std::to_string(free_bytes) : "?"},
                                       {"path", opts_.path}});
    return from_mdb(rc);
  }

  void writer_loop() {
    std::vector<Item> group;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything submitted is done
        while (!queue_.empty() && group.size() < opts_.max_batches_per_commit) {
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      if (auto ec = run_group(group, false))
        for (auto& item : group) if (!item.result) item.result = ec;
      commit_metrics_.observe(group);
      for (auto& item : group) if (item.done) item.done(item.result);
      if (commit_hook_) {
        std::vector<std::uint64_t> touched;
        for (auto& item : group)
          if (!item.result) touched.insert(touched.end(), item.touched.begin(), item.touched.end());
        std::sort(touched.begin(), touched.end());
        touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
        if (!touched.empty()) commit_hook_(touched);
      }
      group.clear();
    }
  }

  // Runs each batch in a child transaction of one parent transaction, then commits the
  // parent once (one fsync). A batch that fails is undone alone. A full map undoes the
  // whole group, grows the map and runs the group again.
  std::error_code run_group(std::vector<Item>& group, bool open_tables) {
    for (int attempt = 0; attempt < 24; ++attempt) {
      std::shared_lock lock(resize_mu_);
      MDB_txn* parent = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &parent);
      if (rc == MDB_MAP_RESIZED) { lock.unlock(); adopt_resize(); continue; }
      if (rc != MDB_SUCCESS) return failed("begin", rc, group.size());
      if (open_tables) {
        for (int i = 0; i < table_count && rc == MDB_SUCCESS; ++i)
          rc = mdb_dbi_open(parent, table_name(static_cast<Table>(i)), MDB_CREATE, &dbis_[i]);
        if (rc == MDB_MAP_FULL) { mdb_txn_abort(parent); lock.unlock(); grow(); continue; }
        if (rc != MDB_SUCCESS) { mdb_txn_abort(parent); return failed("open tables", rc, group.size()); }
      }
      bool full = false;
      for (auto& item : group) {
        item.result = {};
        item.touched.clear();
        MDB_txn* child = nullptr;
        rc = mdb_txn_begin(env_, parent, 0, &child);
        if (rc != MDB_SUCCESS) { full = rc == MDB_MAP_FULL; item.result = from_mdb(rc); if (full) break; continue; }
        LmdbTxn txn(child, dbis_);
        auto ec = item.fn(txn);
        if (txn.map_full()) { mdb_txn_abort(child); full = true; break; }
        if (ec) { mdb_txn_abort(child); item.result = ec; continue; }
        rc = mdb_txn_commit(child);
        if (rc == MDB_MAP_FULL) { full = true; break; }
        item.result = from_mdb(rc);
        if (rc == MDB_SUCCESS) item.touched = txn.touched();
      }
      if (!full) {
        rc = mdb_txn_commit(parent);  // the fsync that makes the whole group durable
        if (rc == MDB_SUCCESS) return {};
        if (rc != MDB_MAP_FULL) return failed("commit", rc, group.size());
      } else {
        mdb_txn_abort(parent);
      }
      lock.unlock();
      if (!grow()) return Errc::full;  // grow() logged why
    }
    log::error("store.commit.failed", {{"step", "grow"}, {"cause", "MDB_MAP_FULL"}, {"batches", group.size()}});
    return Errc::full;
  }

  bool grow() {
    std::unique_lock lock(resize_mu_);
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    std::size_t next = info.me_mapsize * 2;
    int rc = mdb_env_set_mapsize(env_, next);
    if (rc != MDB_SUCCESS) {
      log::error("store.grow.failed", {{"to", next}, {"error", mdb_strerror(rc)}});
      return false;
    }
    map_size_ = next;
    log::info("store.grow", {{"from", info.me_mapsize}, {"to", next}});
    return true;
  }

  // Another process grew the map: take its size (LMDB reads it from the meta page).
  void adopt_resize() {
    std::unique_lock lock(resize_mu_);
    mdb_env_set_mapsize(env_, 0);
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    map_size_ = info.me_mapsize;
  }

  Options opts_;
  MDB_env* env_ = nullptr;
  Dbis dbis_{};
  std::atomic<std::uint64_t> map_size_{0};
  std::shared_mutex resize_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  CommitMetrics commit_metrics_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace

bool in_use(const std::string& path) {
  // Every process with the environment open holds a shared fcntl lock on the first byte of
  // lock.mdb (LMDB's liveness lock) for as long as it is open; ask whether one is held.
  int fd = ::open((path + "/lock.mdb").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  bool held = ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

std::unique_ptr<Store> open(const Options& options, std::error_code& ec, std::string& why) {
  auto s = std::make_unique<LmdbStore>();
  ec = s->open(options, why);
  if (ec) return nullptr;
  return s;
}

}  // namespace mailstead::store

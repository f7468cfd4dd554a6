// One thread per process that wakes waiters when something they watch changed in the store,
// whoever committed it (imapd's IDLE watcher, admin-api's live stream hub). Every `poll` it
// compares the store's commit counter with the one it last read and, only when it moved (or
// someone started watching), asks `look` in one read transaction, for every (key, value
// known) its waiters hold, what the value is now; the waiters whose value differs are woken
// on their own executors. What a key is (a mailbox, a stream) and what a value is
// (HIGHESTMODSEQ, the newest message id) is the caller's `look`.
//
// The store's counter only says whether to look: it can already name a commit that a
// snapshot begun now does not hold yet (LMDB's window between writing the meta page and
// handing the commit to new readers). So the counter remembered is the one of the snapshot
// actually read, never the store's newest, and a commit in that window is looked at again
// next tick (docs/imap.md, "Changes from other sessions and processes").
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace mailstead::store {

class Store;
class ReadTxn;

// What a waiter (an IDLE session, a live connection) waits on; touched only on its own thread.
struct Wake {
  explicit Wake(boost::asio::any_io_executor ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  bool woken = false;  // set with the cancel, so a wake between two waits is not lost
};

class CommitWatch {
 public:
  // (key, value known) → the value now; each pair is asked once however many waiters hold it.
  // `look` leaves a value as it is when nothing changed.
  using Asks = std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t>;
  using Look = std::function<void(ReadTxn&, Asks&)>;

  // Starts the polling thread; with `threaded` false nothing polls unless check() is called
  // (unit tests drive it step by step). `look` is called on that thread, without locks held.
  CommitWatch(Store& store, std::chrono::milliseconds poll, Look look, bool threaded = true);
  ~CommitWatch();  // stops and joins the thread
  CommitWatch(const CommitWatch&) = delete;
  CommitWatch& operator=(const CommitWatch&) = delete;

  // Wakes `wake` (on `ex`) once `look` finds the key's value differs from `known`.
  std::uint64_t watch(std::uint64_t key, std::uint64_t known, boost::asio::any_io_executor ex,
                      std::weak_ptr<Wake> wake);
  void unwatch(std::uint64_t token);
  // Wakes the key's waiters now, without looking (someone said it changed).
  void wake(std::uint64_t key);
  // One look: see the class comment. The thread calls it every `poll`.
  void check();

 private:
  struct Waiter {
    std::uint64_t key, known;
    boost::asio::any_io_executor ex;
    std::weak_ptr<Wake> wake;
  };
  void run();
  static void fire(Waiter& w);

  Store& store_;
  std::chrono::milliseconds poll_;
  Look look_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, dirty_ = false;
  std::uint64_t seen_ = 0;  // the change counter of the last snapshot read
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, Waiter> waiters_;
  std::thread thread_;
};

}  // namespace mailstead::store

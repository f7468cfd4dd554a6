// One per imapd process: wakes IDLE sessions when their mailbox changes, whoever changed it.
// A thread checks the store's commit counter every `poll` and, when it moved, reads the
// watched mailboxes' HIGHESTMODSEQ (one read transaction for all sessions, not one per
// session); a Redis notice (notify::Subscriber) wakes a mailbox's sessions at once.
// docs/imap.md ("Changes from other sessions and processes") explains why the counter it
// remembers is the one of the snapshot it read, never the store's newest.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace mailstead::store {
class Store;
}

namespace mailstead::imap {

// What an IDLE session waits on; touched only on the session's own thread.
struct Wake {
  explicit Wake(boost::asio::any_io_executor ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  bool woken = false;  // set with the cancel, so a wake between two waits is not lost
};

class Watcher {
 public:
  // Starts the polling thread; with `threaded` false nothing polls unless check() is
  // called (unit tests drive it step by step).
  Watcher(store::Store& store, std::chrono::milliseconds poll, bool threaded = true);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Wakes `wake` (on its executor) once the mailbox's HIGHESTMODSEQ differs from `known`.
  std::uint64_t watch(std::uint64_t mailbox, std::uint64_t known, boost::asio::any_io_executor ex,
                      std::weak_ptr<Wake> wake);
  void unwatch(std::uint64_t token);
  // Someone said this mailbox changed (Redis): wake its sessions now.
  void changed(std::uint64_t mailbox);
  // One poll: when the store's commit counter moved past the last snapshot read (or a
  // session started watching), reads the watched mailboxes in one snapshot and wakes the
  // sessions whose mailbox changed. The polling thread calls it every `poll`.
  void check();

 private:
  struct Waiter {
    std::uint64_t mailbox, known;
    boost::asio::any_io_executor ex;
    std::weak_ptr<Wake> wake;
  };
  void run();
  static void fire(Waiter& w);

  store::Store& store_;
  std::chrono::milliseconds poll_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, dirty_ = false;
  std::uint64_t seen_ = 0;  // the change counter of the last snapshot read
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, Waiter> waiters_;
  std::thread thread_;
};

}  // namespace mailstead::imap

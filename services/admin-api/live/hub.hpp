// One per mailstead-admin-api process: the live side of chat streams (docs/streams.md,
// "Live updates"). A thread watches the store's commit counter every `poll` and, when it
// moved, looks in one read transaction whether each watched stream has a message newer
// than its watchers know; those watchers are woken on their own threads and read the new
// messages themselves. A message posted by any process (smtpd's gateway, the CLI, another
// admin-api) is seen this way, as imapd's IDLE watcher sees mailbox changes; nothing polls
// per connection. It also counts each user's live connections.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace mailstead::store {
class Store;
}

namespace mailstead::live {

// What a live connection waits on; touched only on the connection's own thread.
struct Wake {
  explicit Wake(boost::asio::any_io_executor ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  bool woken = false;  // set with the cancel, so a wake between two waits is not lost
};

class Hub {
 public:
  // With `threaded` false nothing polls unless check() is called (unit tests).
  Hub(store::Store& store, std::chrono::milliseconds poll, bool threaded = true);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Wakes `wake` (on `ex`) once the stream has a message with an id above `known`.
  std::uint64_t watch(std::uint64_t stream, std::uint64_t known, boost::asio::any_io_executor ex,
                      std::weak_ptr<Wake> wake);
  void unwatch(std::uint64_t token);
  // One look: see the class comment. The thread calls it every `poll`.
  void check();

  // A held connection slot of one user (or API token); released when destroyed.
  class Slot {
   public:
    Slot(Hub& hub, std::string who) : hub_(hub), who_(std::move(who)) {}
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    Hub& hub_;
    std::string who_;
  };
  // A slot for `who` when it holds fewer than `max`; null otherwise.
  std::unique_ptr<Slot> acquire(const std::string& who, std::uint32_t max);
  std::uint32_t connections(const std::string& who);

 private:
  struct Waiter {
    std::uint64_t stream, known;
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
  std::map<std::string, std::uint32_t> held_;  // live connections per user
  std::thread thread_;
};

}  // namespace mailstead::live

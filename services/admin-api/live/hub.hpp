// One per mailstead-admin-api process: the live side of chat streams (docs/streams.md,
// "Live updates"). The store's commit watcher (store::CommitWatch: a thread that checks the
// commit counter every `poll`) looks, when it moved, in one read transaction whether each watched stream has a message newer
// than its watchers know; those watchers are woken on their own threads and read the new
// messages themselves. A message posted by any process (smtpd's gateway, the CLI, another
// admin-api) is seen this way, as imapd's IDLE watcher sees mailbox changes; nothing polls
// per connection. It also counts each user's live connections.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "store/commit_watch.hpp"

namespace mailstead::live {

using Wake = store::Wake;  // what a live connection waits on

class Hub {
 public:
  // With `threaded` false nothing polls unless check() is called (unit tests).
  Hub(store::Store& store, std::chrono::milliseconds poll, bool threaded = true);

  // Wakes `wake` (on `ex`) once the stream has a message with an id above `known`.
  std::uint64_t watch(std::uint64_t stream, std::uint64_t known, boost::asio::any_io_executor ex,
                      std::weak_ptr<Wake> wake) {
    return watch_.watch(stream, known, std::move(ex), std::move(wake));
  }
  void unwatch(std::uint64_t token) { watch_.unwatch(token); }
  // One look: see the class comment. The thread calls it every `poll`.
  void check() { watch_.check(); }

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
  std::mutex mu_;                              // guards held_
  std::map<std::string, std::uint32_t> held_;  // live connections per user
  store::CommitWatch watch_;
};

}  // namespace mailstead::live

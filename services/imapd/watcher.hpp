// One per imapd process: wakes IDLE sessions when their mailbox changes, whoever changed it.
// The store's commit watcher (store::CommitWatch: a thread that checks the commit counter
// every `poll`) reads, when it moved, the watched mailboxes' HIGHESTMODSEQ in one read
// transaction for all sessions, not one per session; a Redis notice (notify::Subscriber)
// wakes a mailbox's sessions at once. docs/imap.md ("Changes from other sessions and
// processes") explains why the counter it remembers is the one of the snapshot it read,
// never the store's newest.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "store/commit_watch.hpp"

namespace mailstead::imap {

using Wake = store::Wake;  // what an IDLE session waits on

class Watcher {
 public:
  // Starts the polling thread; with `threaded` false nothing polls unless check() is
  // called (unit tests drive it step by step).
  Watcher(store::Store& store, std::chrono::milliseconds poll, bool threaded = true);

  // Wakes `wake` (on its executor) once the mailbox's HIGHESTMODSEQ differs from `known`
  // (0 when the mailbox is gone).
  std::uint64_t watch(std::uint64_t mailbox, std::uint64_t known, boost::asio::any_io_executor ex,
                      std::weak_ptr<Wake> wake) {
    return watch_.watch(mailbox, known, std::move(ex), std::move(wake));
  }
  void unwatch(std::uint64_t token) { watch_.unwatch(token); }
  // Someone said this mailbox changed (Redis): wake its sessions now.
  void changed(std::uint64_t mailbox) { watch_.wake(mailbox); }
  // One poll: when the store's commit counter moved past the last snapshot read (or a
  // session started watching), reads the watched mailboxes in one snapshot and wakes the
  // sessions whose mailbox changed. The polling thread calls it every `poll`.
  void check() { watch_.check(); }

 private:
  store::CommitWatch watch_;
};

}  // namespace mailstead::imap

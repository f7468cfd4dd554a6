// The process-wide IDLE watcher (see watcher.hpp).
#include "watcher.hpp"

#include <boost/asio/post.hpp>
#include <unordered_set>

#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::imap {

Watcher::Watcher(store::Store& store, std::chrono::milliseconds poll, bool threaded) : store_(store), poll_(poll) {
  if (threaded) thread_ = std::thread([this] { run(); });
}

Watcher::~Watcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Watcher::watch(std::uint64_t mailbox, std::uint64_t known, boost::asio::any_io_executor ex,
                             std::weak_ptr<Wake> wake) {
  std::lock_guard lock(mu_);
  auto token = next_token_++;
  waiters_.emplace(token, Waiter{mailbox, known, std::move(ex), std::move(wake)});
  dirty_ = true;  // check at the next tick even if nothing commits
  return token;
}

void Watcher::unwatch(std::uint64_t token) {
  std::lock_guard lock(mu_);
  waiters_.erase(token);
}

void Watcher::fire(Waiter& w) {
  boost::asio::post(w.ex, [wake = w.wake] {
    if (auto p = wake.lock()) {
      p->woken = true;
      p->timer.cancel();
    }
  });
}

void Watcher::changed(std::uint64_t mailbox) {
  std::lock_guard lock(mu_);
  for (auto& [token, w] : waiters_)
    if (w.mailbox == mailbox) fire(w);
}

void Watcher::check() {
  std::unique_lock lock(mu_);
  if (waiters_.empty()) return;
  // The store's counter only says whether to look. It can already name a commit that a
  // snapshot begun now does not hold yet; so what is remembered below is the counter of
  // the snapshot actually read, and a commit in that window is looked at again next tick.
  if (store_.generation() == seen_ && !dirty_) return;
  dirty_ = false;
  std::unordered_set<std::uint64_t> ids;
  for (const auto& [token, w] : waiters_) ids.insert(w.mailbox);
  lock.unlock();
  std::unordered_map<std::uint64_t, std::uint64_t> modseq;  // 0: the mailbox is gone
  std::uint64_t counter = 0;
  {
    auto txn = store_.read();
    counter = txn->change_counter();
    for (auto id : ids) {
      auto m = store::get_mailbox(*txn, id);
      modseq[id] = m ? m->highestmodseq : 0;
    }
  }
  lock.lock();
  seen_ = counter;
  for (auto& [token, w] : waiters_) {
    auto it = modseq.find(w.mailbox);
    if (it == modseq.end()) continue;  // registered meanwhile: dirty_ brings it next tick
    if (it->second != w.known) {
      w.known = it->second;
      fire(w);
    }
  }
}

void Watcher::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, poll_, [&] { return stop_; })) {
    lock.unlock();
    check();
    lock.lock();
  }
}

}  // namespace mailstead::imap

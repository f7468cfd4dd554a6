#include "watcher.hpp"

#include <boost/asio/post.hpp>
#include <unordered_set>

#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::imap {

Watcher::Watcher(store::Store& store, std::chrono::milliseconds poll)
    : store_(store), poll_(poll), thread_([this] { run(); }) {}

Watcher::~Watcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
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

void Watcher::run() {
  std::uint64_t seen = store_.generation();
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, poll_, [&] { return stop_; })) {
    if (waiters_.empty()) continue;
    auto now = store_.generation();
    if (now == seen && !dirty_) continue;
    seen = now;
    dirty_ = false;
    std::unordered_set<std::uint64_t> ids;
    for (const auto& [token, w] : waiters_) ids.insert(w.mailbox);
    lock.unlock();
    std::unordered_map<std::uint64_t, std::uint64_t> modseq;  // 0: the mailbox is gone
    {
      auto txn = store_.read();
      for (auto id : ids) {
        auto m = store::get_mailbox(*txn, id);
        modseq[id] = m ? m->highestmodseq : 0;
      }
    }
    lock.lock();
    for (auto& [token, w] : waiters_) {
      auto it = modseq.find(w.mailbox);
      if (it == modseq.end()) continue;  // registered meanwhile: next tick
      if (it->second != w.known) {
        w.known = it->second;
        fire(w);
      }
    }
  }
}

}  // namespace mailstead::imap

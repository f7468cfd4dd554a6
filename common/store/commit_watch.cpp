// The commit watcher shared by imapd's IDLE and admin-api's live streams (see commit_watch.hpp).
#include "store/commit_watch.hpp"

#include <boost/asio/post.hpp>

#include "store/store.hpp"

namespace mailstead::store {

CommitWatch::CommitWatch(Store& store, std::chrono::milliseconds poll, Look look, bool threaded)
    : store_(store), poll_(poll), look_(std::move(look)) {
  if (threaded) thread_ = std::thread([this] { run(); });
}

CommitWatch::~CommitWatch() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t CommitWatch::watch(std::uint64_t key, std::uint64_t known, boost::asio::any_io_executor ex,
                                 std::weak_ptr<Wake> wake) {
  std::lock_guard lock(mu_);
  auto token = next_token_++;
  waiters_.emplace(token, Waiter{key, known, std::move(ex), std::move(wake)});
  dirty_ = true;  // look at the next tick even if nothing commits: it may have changed meanwhile
  return token;
}

void CommitWatch::unwatch(std::uint64_t token) {
  std::lock_guard lock(mu_);
  waiters_.erase(token);
}

void CommitWatch::fire(Waiter& w) {
  boost::asio::post(w.ex, [wake = w.wake] {
    if (auto p = wake.lock()) {
      p->woken = true;
      p->timer.cancel();
    }
  });
}

void CommitWatch::wake(std::uint64_t key) {
  std::lock_guard lock(mu_);
  for (auto& [token, w] : waiters_)
    if (w.key == key) fire(w);
}

void CommitWatch::check() {
  std::unique_lock lock(mu_);
  if (waiters_.empty()) return;
  if (store_.generation() == seen_ && !dirty_) return;
  dirty_ = false;
  Asks asks;
  for (const auto& [token, w] : waiters_) asks.emplace(std::pair{w.key, w.known}, w.known);
  lock.unlock();
  std::uint64_t counter = 0;
  {
    auto txn = store_.read();
    counter = txn->change_counter();
    look_(*txn, asks);
  }
  lock.lock();
  seen_ = counter;
  for (auto& [token, w] : waiters_) {
    auto it = asks.find(std::pair{w.key, w.known});
    if (it == asks.end()) continue;  // registered meanwhile: dirty_ brings it next tick
    if (it->second != w.known) {
      w.known = it->second;  // woken once; the waiter reads and watches again
      fire(w);
    }
  }
}

void CommitWatch::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, poll_, [&] { return stop_; })) {
    lock.unlock();
    check();
    lock.lock();
  }
}

}  // namespace mailstead::store

// The live stream hub (see hub.hpp).
#include "live/hub.hpp"

#include <boost/asio/post.hpp>
#include <map>
#include <utility>

#include "store/store.hpp"
#include "streams/messages.hpp"

namespace mailstead::live {

Hub::Hub(store::Store& store, std::chrono::milliseconds poll, bool threaded) : store_(store), poll_(poll) {
  if (threaded) thread_ = std::thread([this] { run(); });
}

Hub::~Hub() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Hub::watch(std::uint64_t stream, std::uint64_t known, boost::asio::any_io_executor ex,
                         std::weak_ptr<Wake> wake) {
  std::lock_guard lock(mu_);
  auto token = next_token_++;
  waiters_.emplace(token, Waiter{stream, known, std::move(ex), std::move(wake)});
  dirty_ = true;  // look at the next tick even if nothing commits: it may have come meanwhile
  return token;
}

void Hub::unwatch(std::uint64_t token) {
  std::lock_guard lock(mu_);
  waiters_.erase(token);
}

void Hub::fire(Waiter& w) {
  boost::asio::post(w.ex, [wake = w.wake] {
    if (auto p = wake.lock()) {
      p->woken = true;
      p->timer.cancel();
    }
  });
}

void Hub::check() {
  std::unique_lock lock(mu_);
  if (waiters_.empty()) return;
  // As imapd's watcher: the counter only says whether to look; what is remembered is the
  // counter of the snapshot actually read (docs/imap.md, "Changes from other sessions").
  if (store_.generation() == seen_ && !dirty_) return;
  dirty_ = false;
  // Each (stream, id known) asked once: usually every watcher of a stream knows the same id.
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> next;  // → the first newer id, 0: none
  for (const auto& [token, w] : waiters_) next.emplace(std::pair{w.stream, w.known}, 0);
  lock.unlock();
  std::uint64_t counter = 0;
  {
    auto txn = store_.read();
    counter = txn->change_counter();
    for (auto& [key, id] : next) {
      streams::Query q;
      q.after = key.second;
      q.limit = 1;
      auto found = streams::messages(*txn, key.first, q);
      id = found.empty() ? 0 : found.front().id;
    }
  }
  lock.lock();
  seen_ = counter;
  for (auto& [token, w] : waiters_) {
    auto it = next.find(std::pair{w.stream, w.known});
    if (it == next.end()) continue;  // registered meanwhile: dirty_ brings it next tick
    if (it->second > w.known) {
      w.known = it->second;  // woken once; the connection reads and watches again
      fire(w);
    }
  }
}

void Hub::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, poll_, [&] { return stop_; })) {
    lock.unlock();
    check();
    lock.lock();
  }
}

std::unique_ptr<Hub::Slot> Hub::acquire(const std::string& who, std::uint32_t max) {
  std::lock_guard lock(mu_);
  auto& n = held_[who];
  if (n >= max) return nullptr;
  ++n;
  return std::make_unique<Slot>(*this, who);
}

std::uint32_t Hub::connections(const std::string& who) {
  std::lock_guard lock(mu_);
  auto it = held_.find(who);
  return it == held_.end() ? 0 : it->second;
}

Hub::Slot::~Slot() {
  std::lock_guard lock(hub_.mu_);
  auto it = hub_.held_.find(who_);
  if (it != hub_.held_.end() && --it->second == 0) hub_.held_.erase(it);
}

}  // namespace mailstead::live

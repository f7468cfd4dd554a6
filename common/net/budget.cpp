// The byte budget (see budget.hpp). Waiters sleep on a timer of their own executor; a
// give() that lets them in marks them granted and cancels their timer on that executor.
#include "net/budget.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mailstead::net {

namespace asio = boost::asio;

struct ByteBudget::Waiter {
  Waiter(const asio::any_io_executor& ex, std::uint64_t n) : timer(ex), bytes(n) {}
  asio::steady_timer timer;
  std::uint64_t bytes;
  bool granted = false;  // under the budget's mutex
};

std::uint64_t ByteBudget::used() const {
  std::lock_guard lock(mu_);
  return used_;
}

bool ByteBudget::try_take(std::uint64_t n) {
  std::lock_guard lock(mu_);
  if (used_ + n > limit_) return false;
  used_ += n;
  return true;
}

asio::awaitable<std::uint64_t> ByteBudget::take(std::uint64_t n, std::chrono::steady_clock::duration timeout) {
  n = std::min(n, limit_);
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor, n);
  {
    std::lock_guard lock(mu_);
    if (waiting_.empty() && used_ + n <= limit_) {
      used_ += n;
      co_return n;
    }
    waiting_.push_back(waiter);
  }
  waiter->timer.expires_after(timeout);
  co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  Woken woken;
  {
    std::lock_guard lock(mu_);
    if (waiter->granted) co_return n;
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), waiter));
    admit_waiting(woken);  // leaving the head of the queue may let the next ones in
  }
  wake(woken);
  co_return 0;
}

void ByteBudget::give(std::uint64_t n) {
  Woken woken;
  {
    std::lock_guard lock(mu_);
    used_ -= std::min(n, used_);
    admit_waiting(woken);
  }
  wake(woken);
}

void ByteBudget::admit_waiting(Woken& woken) {
  while (!waiting_.empty() && used_ + waiting_.front()->bytes <= limit_) {
    used_ += waiting_.front()->bytes;
    waiting_.front()->granted = true;
    woken.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

void ByteBudget::wake(const Woken& woken) {
  // A timer belongs to its executor's thread: cancel it there.
  for (const auto& w : woken) asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
}

Held& Held::operator=(Held&& o) noexcept {
  if (this != &o) {
    release();
    budget_ = o.budget_;
    bytes_ = o.bytes_;
    o.bytes_ = 0;
  }
  return *this;
}

bool Held::grow(ByteBudget& budget, std::uint64_t n) {
  if (budget_ && budget_ != &budget) return false;
  if (!budget.try_take(n)) return false;
  budget_ = &budget;
  bytes_ += n;
  return true;
}

void Held::release() {
  if (budget_ && bytes_) budget_->give(bytes_);
  bytes_ = 0;
}

}  // namespace mailstead::net

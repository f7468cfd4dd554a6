// A process-wide budget of bytes (message bytes a service holds in memory), shared by the
// sessions of every thread: they take from it and give back. A taker that does not fit
// waits its turn (first come, first served) or gives up after a timeout, so a burst of
// large messages slows down instead of exhausting memory (docs/smtp.md, "Memory").
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

namespace mailstead::net {

class ByteBudget {
 public:
  explicit ByteBudget(std::uint64_t limit) : limit_(limit) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  std::uint64_t limit() const { return limit_; }
  std::uint64_t used() const;
  // Takes n bytes if they fit now; never waits.
  bool try_take(std::uint64_t n);
  // Waits until n bytes fit (n is capped at the limit, so a taker larger than the whole
  // budget goes alone), for at most `timeout`. Returns the bytes taken, 0 on timeout.
  boost::asio::awaitable<std::uint64_t> take(std::uint64_t n, std::chrono::steady_clock::duration timeout);
  void give(std::uint64_t n);

 private:
  struct Waiter;
  using Woken = std::deque<std::shared_ptr<Waiter>>;
  void admit_waiting(Woken& woken);  // under mu_
  static void wake(const Woken& woken);
  std::uint64_t limit_;
  mutable std::mutex mu_;
  std::uint64_t used_ = 0;
  std::deque<std::shared_ptr<Waiter>> waiting_;
};

// Bytes held from a budget, given back when released or destroyed.
class Held {
 public:
  Held() = default;
  Held(ByteBudget& budget, std::uint64_t bytes) : budget_(&budget), bytes_(bytes) {}
  Held(Held&& o) noexcept : budget_(o.budget_), bytes_(o.bytes_) { o.bytes_ = 0; }
  Held& operator=(Held&& o) noexcept;
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  ~Held() { release(); }

  std::uint64_t bytes() const { return bytes_; }
  // Takes n more bytes if they fit now.
  bool grow(ByteBudget& budget, std::uint64_t n);
  void release();

 private:
  ByteBudget* budget_ = nullptr;
  std::uint64_t bytes_ = 0;
};

}  // namespace mailstead::net
